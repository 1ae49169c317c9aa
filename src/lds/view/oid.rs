//! Names of object identifiers as `inspect` shows them: the CMS, X.509, hash and
//! signature OIDs of the table below, the SecurityInfos protocol names, then OpenSSL's
//! object table (curves, X.509 extensions, …).

/// The name of a dotted OID in the table of the CMS, X.509 and ICAO OIDs `inspect`
/// meets most.
pub fn oid_name(dotted: &str) -> Option<&'static str> {
    Some(match dotted {
        "1.2.840.113549.1.7.2" => "signedData",
        "1.2.840.113549.1.9.3" => "contentType",
        "1.2.840.113549.1.9.4" => "messageDigest",
        "1.2.840.113549.1.9.5" => "signingTime",
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.8" => "MGF1",
        "1.2.840.10045.2.1" => "id-ecPublicKey",
        "1.2.840.10045.1.1" => "prime-field",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.14.3.2.26" => "sha1",
        "2.16.840.1.101.3.4.2.1" => "sha256",
        "2.16.840.1.101.3.4.2.2" => "sha384",
        "2.16.840.1.101.3.4.2.3" => "sha512",
        "2.16.840.1.101.3.4.2.4" => "sha224",
        "2.23.136.1.1.1" => "ldsSecurityObject",
        "2.23.136.1.1.2" => "cscaMasterList",
        "2.23.136.1.1.6.2" => "documentTypeList",
        "2.23.136.1.1.7" => "deviationList",
        "0.4.0.127.0.7.3.2.1" => "id-SecurityObject",
        "2.5.4.3" => "commonName",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "countryName",
        "2.5.4.10" => "organizationName",
        "2.5.4.11" => "organizationalUnitName",
        "2.5.29.14" => "subjectKeyIdentifier",
        "2.5.29.15" => "keyUsage",
        "2.5.29.19" => "basicConstraints",
        "2.5.29.31" => "cRLDistributionPoints",
        "2.5.29.35" => "authorityKeyIdentifier",
        "2.5.29.16" => "privateKeyUsagePeriod",
        "2.5.29.17" => "subjectAltName",
        "2.5.29.18" => "issuerAltName",
        "2.5.29.32" => "certificatePolicies",
        "2.5.29.37" => "extKeyUsage",
        "0.4.0.127.0.7.2.2.1.1" => "id-PK-DH",
        "0.4.0.127.0.7.2.2.1.2" => "id-PK-ECDH",
        "0.4.0.127.0.7.2.2.2" => "id-TA",
        "0.4.0.127.0.7.2.2.3.1.1" => "id-CA-DH-3DES-CBC-CBC",
        "0.4.0.127.0.7.2.2.3.2.1" => "id-CA-ECDH-3DES-CBC-CBC",
        "0.4.0.127.0.7.2.2.3.2.2" => "id-CA-ECDH-AES-CBC-CMAC-128",
        "0.4.0.127.0.7.2.2.4.2.2" => "id-PACE-ECDH-GM-AES-CBC-CMAC-128",
        "0.4.0.127.0.7.2.2.4.2.4" => "id-PACE-ECDH-GM-AES-CBC-CMAC-256",
        "0.4.0.127.0.7.2.2.4.6.2" => "id-PACE-ECDH-CAM-AES-CBC-CMAC-128",
        "2.23.136.1.1.5" => "id-icao-mrtd-security-aaProtocolObject",
        _ => return None,
    })
}

/// The name of an OID from every table we have: the ones above, the SecurityInfos
/// protocol names, then OpenSSL's object table (curves, X.509 extensions, …).
pub fn oid_name_any(dotted: &str) -> Option<String> {
    if let Some(n) = oid_name(dotted) {
        return Some(n.to_owned());
    }
    if let Ok(o) = crate::lds::security_infos::Oid::new(dotted)
        && let Some(n) = crate::lds::security_infos::oid::oid_name(&o)
    {
        return Some(n);
    }
    // only dotted input: Asn1Object::from_str would also accept a name
    if !dotted.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let nid = openssl::asn1::Asn1Object::from_str(dotted).ok()?.nid();
    if nid == openssl::nid::Nid::UNDEF {
        return None;
    }
    nid.long_name()
        .ok()
        .filter(|n| n.contains(|c: char| c.is_ascii_alphabetic()) && !n.contains(' '))
        .or_else(|| nid.short_name().ok())
        .map(str::to_owned)
}

/// `name (dotted)`, or the dotted OID when no name is known.
pub fn oid_label(dotted: &str) -> String {
    match oid_name_any(dotted) {
        Some(n) => format!("{n} ({dotted})"),
        None => dotted.to_owned(),
    }
}
