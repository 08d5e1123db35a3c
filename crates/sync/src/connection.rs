//! A connection to a data source, whichever its kind.

use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::Connection as _;

use crate::privileges::{Actual, Catalog};
use crate::{mysql, postgres, Dialect, SyncError};

pub enum Connection {
    Postgres(PgConnection),
    Mysql(MySqlConnection),
}

impl Connection {
    pub async fn open(
        dialect: Dialect,
        url: &str,
        password: Option<&str>,
    ) -> Result<Connection, SyncError> {
        Ok(match dialect {
            Dialect::Postgres => Connection::Postgres(postgres::connect(url, password).await?),
            Dialect::Mysql => Connection::Mysql(mysql::connect(url, password).await?),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Connection::Postgres(_) => Dialect::Postgres,
            Connection::Mysql(_) => Dialect::Mysql,
        }
    }

    /// What the source's data paths hold between its root and a schema: PostgreSQL's
    /// database (`/sales`); nothing for MariaDB, whose schemas are its databases.
    pub async fn base(&mut self) -> Result<String, SyncError> {
        match self {
            Connection::Postgres(conn) => Ok(format!("/{}", postgres::database(conn).await?)),
            Connection::Mysql(_) => Ok(String::new()),
        }
    }

    pub async fn catalog(&mut self, schemas: &[String]) -> Result<Catalog, SyncError> {
        match self {
            Connection::Postgres(conn) => postgres::catalog(conn, schemas).await,
            Connection::Mysql(conn) => mysql::catalog(conn, schemas).await,
        }
    }

    pub async fn actual(
        &mut self,
        roles: &[String],
        marker: &str,
        catalog: &Catalog,
    ) -> Result<Actual, SyncError> {
        match self {
            Connection::Postgres(conn) => postgres::actual(conn, roles, marker, catalog).await,
            Connection::Mysql(conn) => mysql::actual(conn, roles, marker, catalog).await,
        }
    }

    /// Row-level security as it is (PostgreSQL; MariaDB has none).
    pub async fn rls(
        &mut self,
        catalog: &Catalog,
        marker: &str,
    ) -> Result<std::collections::BTreeMap<(String, String), crate::TableRls>, SyncError> {
        match self {
            Connection::Postgres(conn) => postgres::rls(conn, catalog, marker).await,
            Connection::Mysql(_) => Ok(Default::default()),
        }
    }

    /// Whether the database parses `filter` as one boolean expression over the table.
    pub async fn check_row_filter(
        &mut self,
        schema: &str,
        table: &str,
        filter: &str,
    ) -> Result<(), SyncError> {
        match self {
            Connection::Postgres(conn) => {
                postgres::check_row_filter(conn, schema, table, filter).await
            }
            Connection::Mysql(_) => Err(SyncError::new(
                "MariaDB and MySQL have no row-level security: a row filter cannot be enforced",
            )),
        }
    }

    pub async fn apply(&mut self, statements: &[String]) -> Result<(), SyncError> {
        match self {
            Connection::Postgres(conn) => postgres::apply(conn, statements).await,
            Connection::Mysql(conn) => mysql::apply(conn, statements).await,
        }
    }

    pub async fn close(self) {
        let _ = match self {
            Connection::Postgres(conn) => conn.close().await,
            Connection::Mysql(conn) => conn.close().await,
        };
    }
}
