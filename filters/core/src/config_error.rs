//! The configuration error every Signet configuration reports: the field, as a JSON path
//! (`partners[0].keys[1].kid`), and what is wrong with it — what Envoy's log and the CLI show.

use std::fmt;

/// A configuration error: the field (JSON path) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the field, e.g. `providers[0].issuer`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error on a field one level down (`field` becomes `outer.field`).
    pub fn under(self, outer: &str) -> ConfigError {
        let field = if self.field.is_empty() {
            outer.to_string()
        } else {
            format!("{outer}.{}", self.field)
        };
        ConfigError {
            field,
            message: self.message,
        }
    }

    /// Deserializes a configuration, which must be a JSON object (serde would also take a
    /// struct as a positional array), so that an error names the field.
    pub fn parse_object<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, ConfigError> {
        if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ConfigError::new("(root)", "must be a JSON object"));
        }
        let de = &mut serde_json::Deserializer::from_slice(json);
        serde_path_to_error::deserialize(de).map_err(|e| ConfigError::from_serde(&e))
    }

    /// A serde error with its path, without serde's " at line L column C".
    fn from_serde(e: &serde_path_to_error::Error<serde_json::Error>) -> ConfigError {
        let path = e.path().to_string();
        // An unknown member named "" has an empty path; cut-off JSON has "?".
        let field = if path == "." || path == "?" || path.is_empty() {
            "(root)".into()
        } else {
            path
        };
        let msg = e.inner().to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => msg.get(..i).unwrap_or(&msg).to_string(),
            None => msg,
        };
        ConfigError::new(field, msg)
    }
}

/// A `field: message` text of a validation helper: the field is the text before the first
/// `": "` when that reads as a JSON path (`profile.mojaloop.date_window`, `partners[1].kid`),
/// otherwise the whole text is the message of the configuration as a whole.
impl From<String> for ConfigError {
    fn from(text: String) -> ConfigError {
        let is_path = |f: &str| {
            !f.is_empty()
                && f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.[]()-".contains(&b))
        };
        match text.split_once(": ") {
            Some((field, message)) if is_path(field) => ConfigError::new(field, message),
            _ => ConfigError::new("(root)", text),
        }
    }
}

impl From<&str> for ConfigError {
    fn from(text: &str) -> ConfigError {
        ConfigError::from(text.to_string())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}
