//! The profiles: one module per platform wire format (docs/profiles.md, a section each). Each
//! module holds its settings (its own section of the `jws_verify` and `jws_sign` configurations),
//! its verify steps (run on the shared kit, `crate::verify`), its signer and its error replies,
//! behind [`VerifySettings`]/[`VerifyProfile`] and [`SignSettings`]/[`SignProfile`].
//!
//! A configuration names its profile as `"profile": "mojaloop"` (the profile's defaults) or
//! `"profile": {"mojaloop": {...}}`; the section is the profile's own serde type, so a setting of
//! another profile cannot be written. Adding a profile is its module (`<name>/mod.rs` with its
//! `<Name>Verify` and `<Name>Sign`, usually a `settings.rs` beside it), its `pub mod` line and one
//! line in `registered!` at the end of this file.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::jose::alg::Alg;
use crate::keys::PublicKey;
use crate::message::{Context, Message};
use crate::reason::{Reason, Refusal, Rejection};
use crate::registry::Registry;
use crate::reply::Reply;
use crate::sign::{SignError, SignKey, SignOutcome, SignResponses};
use crate::verify::{Common, Direction, Outcome, Run, StepError, Steps};

pub mod generic;
pub mod mojaloop;
pub mod mosip;
pub mod ocen;
pub mod spar;

/// A profile's section of the `jws_verify` configuration and what it resolves to (the
/// profile's `settings.rs`).
pub trait VerifySettings: Sized {
    /// The section as written: unknown members refused, every member optional
    /// (`"profile": "<name>"` is the empty section).
    type Section: DeserializeOwned + Default + schemars::JsonSchema;
    /// Algorithms on by default.
    const ALGORITHMS: &'static [Alg];
    /// Algorithms `algorithms` may add to the defaults.
    const OPTIONAL_ALGORITHMS: &'static [Alg] = &[];
    const MAX_BODY_BYTES: usize = 1_048_576;
    /// The freshness-window setting `replay_cache` needs on.
    const WINDOW: &'static str;
    /// Resolves the section; errors name the field (`profile.<name>.<field>`).
    fn build(section: Self::Section, common: &Common) -> Result<Self, String>;
    /// Checks that need the partner registry.
    fn check_registry(&self, _common: &Common, _registry: &Registry) -> Result<(), String> {
        Ok(())
    }
    fn freshness_on(&self) -> bool;
}

/// What `jws_verify` does with a profile: its steps and its replies.
pub trait VerifyProfile: VerifySettings {
    fn verify(&self, run: &mut Run<'_>) -> Result<Outcome, Rejection<StepError>>;
    /// The platform's own reply to a refusal (its reason, and which credential a
    /// `partner_inactive` is about); `client_side`: the 502 that replaces an unverifiable
    /// response on a partner's egress (docs/profiles.md#replies).
    fn reply(
        &self,
        refusal: &dyn Refusal,
        msg: &Message,
        ctx: &Context,
        request_id: &str,
        client_side: bool,
    ) -> Reply;
    /// `(H, S)` of the message's signature as this profile frames it (for the CLI's hints).
    fn segments(&self, msg: &Message) -> Option<(String, String)>;
}

/// A profile's section of the `jws_sign` configuration and what it resolves to.
pub trait SignSettings: Sized {
    /// The section as written, as [`VerifySettings::Section`].
    type Section: DeserializeOwned + Default + schemars::JsonSchema;
    const MAX_BODY_BYTES: usize = 1_048_576;
    /// The algorithm for `key` when `sign_alg` is not set; `None`: such a key cannot sign here.
    fn default_alg(key: &PublicKey) -> Option<Alg> {
        crate::sign::default_alg(key)
    }
    /// Whether the platform verifies `alg` at all.
    fn alg_allowed(alg: Alg) -> bool;
    fn build(section: Self::Section, at: &SignSetup<'_>) -> Result<Self, String>;
    fn sign_responses(&self) -> SignResponses;
}

/// What `jws_sign` does with a profile.
pub trait SignProfile: SignSettings {
    /// Signs `msg` in place (its body within `max_body_bytes` already).
    fn sign(
        &self,
        key: &SignKey,
        msg: &mut Message,
        now_ms: i64,
        backend: &dyn crate::crypto::CryptoBackend,
    ) -> Result<SignOutcome, SignError>;
    /// The local reply when signing fails.
    fn reply(reason: Reason) -> Reply {
        crate::reply::generic(reason, None)
    }
}

/// What a signer's section is resolved against.
pub struct SignSetup<'a> {
    pub direction: Direction,
    /// The signing key's public half.
    pub public: &'a PublicKey,
    /// Reads the process environment (`*_env` settings).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// A header name as configured: letters, digits, `-`, `_`; kept lower-case.
pub fn header_name(name: &str, field: &str) -> Result<String, String> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("{field}: {name:?} is not a header name"));
    }
    Ok(name.to_ascii_lowercase())
}

/// What a section enum needs for [`Deserialize`]: the defaults of a named profile, or the
/// profile's section read from the map.
trait Sections: Sized {
    fn defaults(name: ProfileName) -> Self;
    fn read<'de, A: MapAccess<'de>>(name: ProfileName, map: &mut A) -> Result<Self, A::Error>;
}

struct SectionVisitor<T>(PhantomData<T>);

impl<'de, T: Sections> Visitor<'de> for SectionVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a profile name, or an object with one member: the profile's section")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        let name = ProfileName::from_name(v).ok_or_else(|| E::unknown_variant(v, NAMES))?;
        Ok(T::defaults(name))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom("names no profile"));
        };
        let name = ProfileName::from_name(&key)
            .ok_or_else(|| <A::Error as de::Error>::unknown_variant(&key, NAMES))?;
        let section = T::read(name, &mut map)?;
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom("names more than one profile"));
        }
        Ok(section)
    }
}

impl<'de> Deserialize<'de> for ProfileName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ProfileName, D::Error> {
        let s = String::deserialize(d)?;
        ProfileName::from_name(&s).ok_or_else(|| de::Error::unknown_variant(&s, NAMES))
    }
}

impl<'de> Deserialize<'de> for VerifySection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<VerifySection, D::Error> {
        d.deserialize_any(SectionVisitor(PhantomData))
    }
}

impl<'de> Deserialize<'de> for SignSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SignSection, D::Error> {
        d.deserialize_any(SectionVisitor(PhantomData))
    }
}

impl Steps for Verifier {
    fn verify(&self, run: &mut Run<'_>) -> Result<Outcome, Rejection<StepError>> {
        self.run(run)
    }
}

/// The registration of the profiles: `Variant => module::{its verifier, its signer}`, the types
/// that implement [`VerifyProfile`] and [`SignProfile`]; everything else is generated here.
macro_rules! registered {
    ($($variant:ident => $module:ident :: { $verify:ident, $sign:ident }),+ $(,)?) => {
        /// Which platform's wire format.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ProfileName {
            $($variant),+
        }

        const NAMES: &[&str] = &[$(stringify!($module)),+];

        impl ProfileName {
            pub fn name(self) -> &'static str {
                match self {
                    $(ProfileName::$variant => stringify!($module)),+
                }
            }

            pub fn from_name(name: &str) -> Option<ProfileName> {
                match name {
                    $(stringify!($module) => Some(ProfileName::$variant),)+
                    _ => None,
                }
            }
        }

        /// The `profile` member of a `jws_verify` configuration, as written.
        #[derive(Debug)]
        pub enum VerifySection {
            $($variant(<$module::$verify as VerifySettings>::Section)),+
        }

        /// The `profile` member of a `jws_sign` configuration, as written.
        #[derive(Debug)]
        pub enum SignSection {
            $($variant(<$module::$sign as SignSettings>::Section)),+
        }

        /// The verifying profile with its resolved settings.
        #[derive(Clone, Debug)]
        pub enum Verifier {
            $($variant($module::$verify)),+
        }

        /// The signing profile with its resolved settings.
        #[derive(Clone, Debug)]
        pub enum Signer {
            $($variant($module::$sign)),+
        }

        impl schemars::JsonSchema for VerifySection {
            fn schema_name() -> String {
                "VerifySection".into()
            }

            fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
                crate::schema::profile_section(NAMES, vec![
                    $(gen.subschema_for::<<$module::$verify as VerifySettings>::Section>()),+
                ])
            }
        }

        impl schemars::JsonSchema for SignSection {
            fn schema_name() -> String {
                "SignSection".into()
            }

            fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
                crate::schema::profile_section(NAMES, vec![
                    $(gen.subschema_for::<<$module::$sign as SignSettings>::Section>()),+
                ])
            }
        }

        impl Sections for VerifySection {
            fn defaults(name: ProfileName) -> Self {
                match name {
                    $(ProfileName::$variant => VerifySection::$variant(Default::default())),+
                }
            }

            fn read<'de, A: MapAccess<'de>>(name: ProfileName, map: &mut A) -> Result<Self, A::Error> {
                Ok(match name {
                    $(ProfileName::$variant => VerifySection::$variant(map.next_value()?)),+
                })
            }
        }

        impl Sections for SignSection {
            fn defaults(name: ProfileName) -> Self {
                match name {
                    $(ProfileName::$variant => SignSection::$variant(Default::default())),+
                }
            }

            fn read<'de, A: MapAccess<'de>>(name: ProfileName, map: &mut A) -> Result<Self, A::Error> {
                Ok(match name {
                    $(ProfileName::$variant => SignSection::$variant(map.next_value()?)),+
                })
            }
        }

        impl VerifySection {
            pub fn name(&self) -> ProfileName {
                match self {
                    $(VerifySection::$variant(_) => ProfileName::$variant),+
                }
            }

            /// `(defaults, optional)` algorithms.
            pub fn algorithms(&self) -> (&'static [Alg], &'static [Alg]) {
                match self {
                    $(VerifySection::$variant(_) => (
                        <$module::$verify as VerifySettings>::ALGORITHMS,
                        <$module::$verify as VerifySettings>::OPTIONAL_ALGORITHMS,
                    )),+
                }
            }

            pub fn max_body_bytes(&self) -> usize {
                match self {
                    $(VerifySection::$variant(_) => <$module::$verify as VerifySettings>::MAX_BODY_BYTES),+
                }
            }

            pub fn build(self, common: &Common) -> Result<Verifier, String> {
                Ok(match self {
                    $(VerifySection::$variant(s) => Verifier::$variant(<$module::$verify as VerifySettings>::build(s, common)?)),+
                })
            }
        }

        impl Verifier {
            pub fn name(&self) -> ProfileName {
                match self {
                    $(Verifier::$variant(_) => ProfileName::$variant),+
                }
            }

            pub fn window(&self) -> &'static str {
                match self {
                    $(Verifier::$variant(_) => <$module::$verify as VerifySettings>::WINDOW),+
                }
            }

            pub fn freshness_on(&self) -> bool {
                match self {
                    $(Verifier::$variant(p) => p.freshness_on()),+
                }
            }

            pub fn check_registry(&self, common: &Common, registry: &Registry) -> Result<(), String> {
                match self {
                    $(Verifier::$variant(p) => p.check_registry(common, registry)),+
                }
            }

            fn run(&self, run: &mut Run<'_>) -> Result<Outcome, Rejection<StepError>> {
                match self {
                    $(Verifier::$variant(p) => p.verify(run)),+
                }
            }

            /// The platform's reply to a refusal; `client_side` on a partner's egress.
            pub fn reply(
                &self,
                refusal: &dyn Refusal,
                msg: &Message,
                ctx: &Context,
                request_id: &str,
                client_side: bool,
            ) -> Reply {
                match self {
                    $(Verifier::$variant(p) => p.reply(refusal, msg, ctx, request_id, client_side)),+
                }
            }

            pub fn segments(&self, msg: &Message) -> Option<(String, String)> {
                match self {
                    $(Verifier::$variant(p) => p.segments(msg)),+
                }
            }
        }

        impl SignSection {
            pub fn name(&self) -> ProfileName {
                match self {
                    $(SignSection::$variant(_) => ProfileName::$variant),+
                }
            }

            pub fn max_body_bytes(&self) -> usize {
                match self {
                    $(SignSection::$variant(_) => <$module::$sign as SignSettings>::MAX_BODY_BYTES),+
                }
            }

            pub fn default_alg(&self, key: &PublicKey) -> Option<Alg> {
                match self {
                    $(SignSection::$variant(_) => <$module::$sign as SignSettings>::default_alg(key)),+
                }
            }

            pub fn alg_allowed(&self, alg: Alg) -> bool {
                match self {
                    $(SignSection::$variant(_) => <$module::$sign as SignSettings>::alg_allowed(alg)),+
                }
            }

            pub fn build(self, at: &SignSetup<'_>) -> Result<Signer, String> {
                Ok(match self {
                    $(SignSection::$variant(s) => Signer::$variant(<$module::$sign as SignSettings>::build(s, at)?)),+
                })
            }
        }

        impl Signer {
            pub fn name(&self) -> ProfileName {
                match self {
                    $(Signer::$variant(_) => ProfileName::$variant),+
                }
            }

            pub fn sign_responses(&self) -> SignResponses {
                match self {
                    $(Signer::$variant(p) => p.sign_responses()),+
                }
            }

            pub fn sign(
                &self,
                key: &SignKey,
                msg: &mut Message,
                now_ms: i64,
                backend: &dyn crate::crypto::CryptoBackend,
            ) -> Result<SignOutcome, SignError> {
                match self {
                    $(Signer::$variant(p) => p.sign(key, msg, now_ms, backend)),+
                }
            }

            pub fn reply(&self, reason: Reason) -> Reply {
                match self {
                    $(Signer::$variant(_) => <$module::$sign as SignProfile>::reply(reason)),+
                }
            }
        }
    };
}

registered! {
    Mojaloop => mojaloop::{MojaloopVerify, MojaloopSign},
    Ocen => ocen::{OcenVerify, OcenSign},
    Mosip => mosip::{MosipVerify, MosipSign},
    Spar => spar::{SparVerify, SparSign},
    Generic => generic::{GenericVerify, GenericSign},
}
