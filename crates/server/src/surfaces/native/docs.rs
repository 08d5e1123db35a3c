//! `/docs`: the API reference as one self-contained HTML page rendered from the OpenAPI
//! document. No script and no CDN, so it works on a machine without internet.

use serde_json::Value;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn text(value: &Value, pointer: &str) -> String {
    escape(
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
}

fn schema_name(schema: Option<&Value>) -> String {
    let Some(schema) = schema else {
        return String::new();
    };
    let rendered = serde_json::to_string(schema).unwrap_or_default();
    escape(&rendered.replace("#/components/schemas/", ""))
}

fn operation_html(method: &str, path: &str, op: &Value) -> String {
    let mut html = format!(
        "<section class=\"op\"><h3><span class=\"m {method}\">{}</span> <code>{}</code></h3><p>{}</p><p class=\"who\">{}</p>",
        method.to_uppercase(),
        escape(path),
        text(op, "/summary"),
        text(op, "/description"),
    );
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        html.push_str("<table><tr><th>parameter</th><th>in</th><th>description</th></tr>");
        for p in params {
            html.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                text(p, "/name"),
                text(p, "/in"),
                text(p, "/description")
            ));
        }
        html.push_str("</table>");
    }
    if let Some(body) = op.pointer("/requestBody/content/application~1json/schema") {
        html.push_str(&format!(
            "<p>Body: <code>{}</code></p>",
            schema_name(Some(body))
        ));
    }
    html.push_str("<ul>");
    if let Some(responses) = op["responses"].as_object() {
        for (status, response) in responses {
            let schema = response.pointer("/content/application~1json/schema");
            html.push_str(&format!(
                "<li><b>{}</b> {} <code>{}</code></li>",
                escape(status),
                text(response, "/description"),
                schema_name(schema)
            ));
        }
    }
    html.push_str("</ul></section>");
    html
}

/// Renders the document as a page.
pub fn page(document: &Value) -> String {
    let mut body = format!(
        "<h1>{} {}</h1><p>{}</p><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a></p>",
        text(document, "/info/title"),
        text(document, "/info/version"),
        text(document, "/info/description"),
    );
    body.push_str(
        "<h2>Error codes</h2><table><tr><th>code</th><th>status</th><th>meaning</th></tr>",
    );
    for code in document["x-error-codes"].as_array().into_iter().flatten() {
        body.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            text(code, "/code"),
            code["status"],
            text(code, "/meaning")
        ));
    }
    body.push_str("</table><h2>Operations</h2>");
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            body.push_str(&operation_html(method, path, op));
        }
    }
    body.push_str("<h2>Schemas</h2>");
    for (name, schema) in document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
        body.push_str(&format!(
            "<h3 id=\"{0}\">{0}</h3><pre>{1}</pre>",
            escape(name),
            escape(&pretty)
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>grantd API reference</title>\
         <style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}\
         code,pre{{font-family:ui-monospace,monospace}}pre{{background:#f5f5f5;padding:.75rem;overflow:auto}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}}\
         .op{{border-top:1px solid #ddd;margin-top:1rem}}.m{{display:inline-block;min-width:4.5rem;color:#fff;\
         border-radius:3px;text-align:center;font-size:13px;padding:0 .3rem}}.get{{background:#2a7ae2}}\
         .post{{background:#2e8b57}}.put{{background:#c77c02}}.patch{{background:#8a56c2}}.delete{{background:#c0392b}}\
         .who{{color:#666}}</style></head><body>{body}</body></html>"
    )
}
