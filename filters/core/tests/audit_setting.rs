//! The `audit` setting of jws_verify and jws_sign: on unless turned off, and a boolean.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use signet_core::config::sign::SignConfig;
use signet_core::config::VerifyConfig;

#[test]
fn audit_is_on_unless_turned_off() {
    let verify = |extra: serde_json::Value| {
        let mut cfg = json!({"profile": "generic"});
        cfg.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        VerifyConfig::from_json(&cfg.to_string()).map(|c| c.common.audit)
    };
    assert_eq!(verify(json!({})), Ok(true));
    assert_eq!(verify(json!({"audit": false})), Ok(false));
    assert!(verify(json!({"audit": "no"}))
        .unwrap_err()
        .to_string()
        .contains("audit"));

    let rsa = private_pem(&rsa_key(1));
    let sign = |audit: Option<bool>| {
        let mut cfg = json!({"profile": {"mojaloop": {"source_id": "a"}}, "signing_key": rsa});
        if let Some(a) = audit {
            cfg["audit"] = json!(a);
        }
        SignConfig::from_json(&cfg.to_string(), &|_| None).map(|c| c.audit)
    };
    assert!(sign(None).unwrap());
    assert!(!sign(Some(false)).unwrap());
    // token_check's: filters/core/src/token/config_tests.rs.
}
