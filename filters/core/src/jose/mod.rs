//! JOSE: algorithms, the protected header, JWS serializations and signing inputs
//! (RFC 7515, RFC 7797, `profiles.md` §2).

pub mod alg;

pub use alg::Alg;
