//! The data an `errors` project starts from: the embedded stock policy's catalog, per error
//! code with the HTTP status and the problem title it gives that code, written as a table in
//! the project's language.

use bachata_common::{AppError, CatalogEntry, Policy};

use super::{Lang, NewError};

/// One error code of the catalog, as a project's table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The stable machine code.
    pub code: String,
    /// The HTTP status an API answers with for it.
    pub status: u16,
    /// The `title` of its problem documents.
    pub title: String,
    /// Its end-user messages, `(error type, message)`, in the catalog's order.
    pub messages: Vec<(String, String)>,
}

/// The stock policy's answers a new errors project starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stock {
    /// The start of a problem document's `type` (the error code in lowercase follows).
    pub problem_type: String,
    /// The catalog, code by code in its order.
    pub codes: Vec<Code>,
}

/// The title of a code the stock policy has no kind for: the one it gives unknown codes.
const UNKNOWN_TITLE: &str = "Error";

fn stock_error(reason: impl ToString) -> NewError {
    NewError::Embedded {
        what: "stock policy",
        reason: reason.to_string(),
    }
}

/// One error of each kind, without context.
fn one_of_each_kind() -> [AppError; 8] {
    let message = String::new;
    [
        AppError::Generation {
            message: message(),
            details: Vec::new(),
        },
        AppError::YoutubeDownload {
            message: message(),
            url: None,
            details: Vec::new(),
        },
        AppError::MusicAnalysis {
            message: message(),
            audio_path: None,
            details: Vec::new(),
        },
        AppError::MoveAnalysis {
            message: message(),
            video_path: None,
            details: Vec::new(),
        },
        AppError::VideoGeneration {
            message: message(),
            details: Vec::new(),
        },
        AppError::Validation {
            message: message(),
            field: None,
            value: None,
            details: Vec::new(),
        },
        AppError::Resource {
            message: message(),
            resource_type: None,
            details: Vec::new(),
        },
        AppError::ServiceUnavailable {
            message: message(),
            service_name: None,
            details: Vec::new(),
        },
    ]
}

/// The catalog of the embedded stock policy, with the title and the `type` its problem
/// documents give each kind's code.
pub fn stock() -> Result<Stock, NewError> {
    let policy = Policy::shared().map_err(stock_error)?;
    let entries = policy.catalog().map_err(stock_error)?;
    let mut problem_type: Option<String> = None;
    let mut titles = Vec::new();
    for error in one_of_each_kind() {
        let code = error.error_code();
        let text = policy
            .problem_json(&error, None, None)
            .map_err(stock_error)?;
        let document: serde_json::Value = serde_json::from_str(&text).map_err(stock_error)?;
        let title = document["title"]
            .as_str()
            .ok_or_else(|| stock_error(format!("the problem document of {code} has no title")))?;
        let prefix = document["type"]
            .as_str()
            .and_then(|kind| kind.strip_suffix(&code.to_ascii_lowercase()))
            .ok_or_else(|| {
                stock_error(format!(
                    "the problem type of {code} does not end in its code in lowercase"
                ))
            })?;
        if *problem_type.get_or_insert_with(|| prefix.to_string()) != prefix {
            return Err(stock_error("the problem types do not share one prefix"));
        }
        titles.push((code.to_string(), title.to_string()));
    }
    Ok(Stock {
        problem_type: problem_type.unwrap_or_default(),
        codes: by_code(&entries, &titles),
    })
}

/// The catalog's entries code by code, in their order: each code with the status of its first
/// entry and its title from `titles` (`Error` when it has none).
pub fn by_code(entries: &[CatalogEntry], titles: &[(String, String)]) -> Vec<Code> {
    let mut codes: Vec<Code> = Vec::new();
    for entry in entries {
        let message = (entry.error_type.clone(), entry.message.clone());
        match codes.iter_mut().find(|code| code.code == entry.error_code) {
            Some(code) => code.messages.push(message),
            None => codes.push(Code {
                code: entry.error_code.clone(),
                status: entry.http_status,
                title: titles
                    .iter()
                    .find(|(code, _)| *code == entry.error_code)
                    .map_or(UNKNOWN_TITLE, |(_, title)| title.as_str())
                    .to_string(),
                messages: vec![message],
            }),
        }
    }
    codes
}

/// `text` as a string literal of `lang`: Rust's escapes, else JSON's (valid Python and
/// JavaScript).
pub fn literal(lang: Lang, text: &str) -> String {
    match lang {
        Lang::Rust => format!("{text:?}"),
        Lang::Python | Lang::Js => serde_json::Value::from(text).to_string(),
    }
}

/// The elements of the catalog table of a `lang` project: a Rust `Code` per code, a Python
/// dict, a JavaScript object.
pub fn table(lang: Lang, codes: &[Code]) -> String {
    let quote = |text: &str| literal(lang, text);
    let mut out = String::new();
    for code in codes {
        let (code_name, status, title) = (quote(&code.code), code.status, quote(&code.title));
        let messages: String = code
            .messages
            .iter()
            .map(|(error_type, message)| {
                let (error_type, message) = (quote(error_type), quote(message));
                match lang {
                    Lang::Rust | Lang::Python => {
                        format!("            ({error_type}, {message}),\n")
                    }
                    Lang::Js => format!("      [{error_type}, {message}],\n"),
                }
            })
            .collect();
        out.push_str(&match lang {
            Lang::Rust => format!(
                "    Code {{\n        code: {code_name},\n        status: {status},\n        \
                 title: {title},\n        messages: &[\n{messages}        ],\n    }},\n"
            ),
            Lang::Python => format!(
                "    {{\n        \"code\": {code_name},\n        \"status\": {status},\n        \
                 \"title\": {title},\n        \"messages\": [\n{messages}        ],\n    }},\n"
            ),
            Lang::Js => format!(
                "  {{\n    code: {code_name},\n    status: {status},\n    title: {title},\n    \
                 messages: [\n{messages}    ],\n  }},\n"
            ),
        });
    }
    out.trim_end_matches('\n').to_string()
}
