//! `--format` as docker takes it: `json`, a Go text/template (`{{.Names}}`,
//! `{{json .Config}}`, `{{range}}`, `{{index .Labels "k"}}`, `{{if}}`), or `table` and a
//! template, which prints a header row and aligns the tab-separated columns like docker's
//! tabwriter. Templates run on JSON values (gtmpl implements Go's template language);
//! docker's extra functions (`json`, `join`, `upper`, `lower`, `title`, `split`,
//! `truncate`, `pad`) are added here.

use std::collections::HashMap;

use anyhow::Context as _;
use gtmpl::{Context, FuncError, Template, Value};
use serde_json::Value as Json;

/// How a list verb prints.
#[derive(Debug)]
pub enum Format {
    /// Its default table, or `table TEMPLATE`: a header row and aligned columns.
    Table(Option<String>),
    /// One JSON document per object (`--format json`).
    Json,
    /// A template per object, no header.
    Template(String),
}

impl Format {
    /// Reads `--format`: absent or `table` is the default table.
    pub fn parse(flag: Option<&str>) -> Format {
        match flag.map(str::trim) {
            None | Some("") | Some("table") => Format::Table(None),
            Some("json") => Format::Json,
            Some(text) => match text.strip_prefix("table") {
                Some(rest) if rest.starts_with(char::is_whitespace) => {
                    Format::Table(Some(rest.trim_start().to_string()))
                }
                _ => Format::Template(text.to_string()),
            },
        }
    }
}

/// Prints `rows` (JSON objects) as `format` says. `default_table` is the template of the
/// verb's default table; `headers` names the columns of each field (`ID` → `CONTAINER
/// ID`).
pub fn print(
    format: &Format,
    rows: &[Json],
    default_table: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            for row in rows {
                println!("{}", serde_json::to_string(row)?);
            }
        }
        Format::Template(text) => {
            let template = compile(text)?;
            for row in rows {
                println!("{}", render_compiled(&template, row)?);
            }
        }
        Format::Table(text) => {
            let text = text.as_deref().unwrap_or(default_table);
            let template = compile(text)?;
            let header_row: serde_json::Map<String, Json> = headers
                .iter()
                .map(|(field, header)| (field.to_string(), Json::String(header.to_string())))
                .collect();
            let mut lines = vec![render_compiled(&template, &Json::Object(header_row))?];
            for row in rows {
                lines.push(render_compiled(&template, row)?);
            }
            print!("{}", tabwriter(&lines.join("\n")));
        }
    }
    Ok(())
}

/// Renders `text` with `value` as dot.
pub fn render(text: &str, value: &Json) -> anyhow::Result<String> {
    render_compiled(&compile(text)?, value)
}

fn compile(text: &str) -> anyhow::Result<Template> {
    let mut template = Template::default();
    template.add_funcs(&[
        ("json", json as gtmpl::Func),
        ("join", join),
        ("upper", upper),
        ("lower", lower),
        ("title", title),
        ("split", split),
        ("truncate", truncate),
        ("pad", pad),
        ("label", label),
        ("len", len),
    ]);
    // docker's ps placeholders have a `.Label "key"` method; Go templates cannot call
    // methods on plain values, so it becomes a function of the `Labels` string.
    let text = text.replace(".Label \"", "label .Labels \"");
    // Go's templates unescape `\t` and `\n` only inside string literals; docker's users
    // type them literally in --format.
    let text = text.replace("\\t", "\t").replace("\\n", "\n");
    template
        .parse(text.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("parse the template `{text}`"))?;
    Ok(template)
}

fn render_compiled(template: &Template, value: &Json) -> anyhow::Result<String> {
    template
        .render(&Context::from(to_gtmpl(value)))
        .map_err(|e| anyhow::anyhow!("execute the template: {e}"))
}

/// Go's tabwriter as docker sets it up (min width 10, padding 3, spaces): every cell but
/// the last of a line is padded to its column's width.
pub fn tabwriter(text: &str) -> String {
    const MIN_WIDTH: usize = 10;
    const PADDING: usize = 3;
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for cells in &lines {
        for (i, cell) in cells.iter().enumerate().take(cells.len().saturating_sub(1)) {
            let width = (cell.chars().count() + PADDING).max(MIN_WIDTH);
            if widths.len() <= i {
                widths.push(width);
            } else {
                widths[i] = widths[i].max(width);
            }
        }
    }
    let mut out = String::new();
    for cells in &lines {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            if i < last {
                out.push_str(&format!("{cell:width$}", width = widths[i]));
            } else {
                out.push_str(cell);
            }
        }
        out.push('\n');
    }
    out
}

/// JSON into the template engine's values. Objects become maps, so that both `.Key`
/// and `index . "key"` work.
pub fn to_gtmpl(value: &Json) -> Value {
    match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(to_gtmpl).collect()),
        Json::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), to_gtmpl(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// The template engine's values back into JSON, for `{{json ...}}`.
fn to_json(value: &Value) -> Json {
    match value {
        Value::NoValue | Value::Nil | Value::Function(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                Json::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Object(map) | Value::Map(map) => {
            // Sorted keys, as Go's encoding/json prints maps.
            let sorted: std::collections::BTreeMap<_, _> =
                map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
            Json::Object(sorted.into_iter().collect())
        }
    }
}

fn arg<'a>(args: &'a [Value], i: usize, name: &str, n: usize) -> Result<&'a Value, FuncError> {
    args.get(i)
        .ok_or_else(|| FuncError::ExactlyXArgs(name.to_string(), n))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn json(args: &[Value]) -> Result<Value, FuncError> {
    let value = to_json(arg(args, 0, "json", 1)?);
    serde_json::to_string(&value)
        .map(Value::String)
        .map_err(|e| FuncError::Generic(e.to_string()))
}

fn join(args: &[Value]) -> Result<Value, FuncError> {
    let sep = text(arg(args, 1, "join", 2)?);
    match arg(args, 0, "join", 2)? {
        Value::Array(items) => Ok(Value::String(
            items.iter().map(text).collect::<Vec<_>>().join(&sep),
        )),
        other => Ok(Value::String(text(other))),
    }
}

fn upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        text(arg(args, 0, "upper", 1)?).to_uppercase(),
    ))
}

fn lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        text(arg(args, 0, "lower", 1)?).to_lowercase(),
    ))
}

fn title(args: &[Value]) -> Result<Value, FuncError> {
    let words: Vec<String> = text(arg(args, 0, "title", 1)?)
        .split(' ')
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect();
    Ok(Value::String(words.join(" ")))
}

fn split(args: &[Value]) -> Result<Value, FuncError> {
    let sep = text(arg(args, 1, "split", 2)?);
    let whole = text(arg(args, 0, "split", 2)?);
    Ok(Value::Array(
        whole
            .split(sep.as_str())
            .map(|s| Value::String(s.to_string()))
            .collect(),
    ))
}

fn truncate(args: &[Value]) -> Result<Value, FuncError> {
    let whole = text(arg(args, 0, "truncate", 2)?);
    let n = match arg(args, 1, "truncate", 2)? {
        Value::Number(n) => n.as_u64().unwrap_or(0) as usize,
        _ => return Err(FuncError::UnableToConvertFromValue),
    };
    Ok(Value::String(whole.chars().take(n).collect()))
}

fn pad(args: &[Value]) -> Result<Value, FuncError> {
    let whole = text(arg(args, 0, "pad", 3)?);
    let count = |v: &Value| match v {
        Value::Number(n) => n.as_u64().unwrap_or(0) as usize,
        _ => 0,
    };
    let (left, right) = (
        count(arg(args, 1, "pad", 3)?),
        count(arg(args, 2, "pad", 3)?),
    );
    Ok(Value::String(format!(
        "{}{whole}{}",
        " ".repeat(left),
        " ".repeat(right)
    )))
}

/// Go's `len`, for maps too (gtmpl's counts only strings, arrays and structs).
fn len(args: &[Value]) -> Result<Value, FuncError> {
    let n = match arg(args, 0, "len", 1)? {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        Value::Object(m) | Value::Map(m) => m.len(),
        Value::Nil | Value::NoValue => 0,
        other => return Err(FuncError::Generic(format!("len of {other}"))),
    };
    Ok(Value::from(n as u64))
}

/// `label LABELS KEY`: the value of KEY in a `k=v,k2=v2` string (ps's `.Label "k"`).
fn label(args: &[Value]) -> Result<Value, FuncError> {
    let labels = text(arg(args, 0, "label", 2)?);
    let key = text(arg(args, 1, "label", 2)?);
    let found = labels
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    Ok(Value::String(found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_docker_style_templates() {
        let v = json!({"State": {"Status": "running", "Pid": 42},
                       "Config": {"Labels": {"a.b": "c"}, "Env": ["X=1", "Y=2"]},
                       "Name": "/web"});
        assert_eq!(
            render("{{.State.Status}} {{.State.Pid}}", &v).unwrap(),
            "running 42"
        );
        assert_eq!(
            render(r#"{{index .Config.Labels "a.b"}}"#, &v).unwrap(),
            "c"
        );
        assert_eq!(
            render("{{json .Config.Labels}}", &v).unwrap(),
            r#"{"a.b":"c"}"#
        );
        assert_eq!(
            render("{{range .Config.Env}}[{{.}}]{{end}}", &v).unwrap(),
            "[X=1][Y=2]"
        );
        assert_eq!(
            render(
                r#"{{if eq .State.Status "running"}}up{{else}}down{{end}}"#,
                &v
            )
            .unwrap(),
            "up"
        );
        assert_eq!(
            render(r#"{{join .Config.Env ","}}"#, &v).unwrap(),
            "X=1,Y=2"
        );
        assert_eq!(
            render("{{len .Config.Labels}} {{len .Config.Env}}", &v).unwrap(),
            "1 2"
        );
        assert_eq!(
            render(r#"{{.Label "b"}}"#, &json!({"Labels": "a=1,b=2"})).unwrap(),
            "2"
        );
    }

    #[test]
    fn parses_format_flags() {
        assert!(matches!(Format::parse(None), Format::Table(None)));
        assert!(matches!(Format::parse(Some("json")), Format::Json));
        assert!(
            matches!(Format::parse(Some("table {{.ID}}")), Format::Table(Some(t)) if t == "{{.ID}}")
        );
        assert!(matches!(
            Format::parse(Some("{{.ID}}")),
            Format::Template(_)
        ));
    }

    #[test]
    fn aligns_like_docker_tabwriter() {
        let out = tabwriter("CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox\tweb");
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n"
        );
    }
}
