//! Country codes: documents name their issuer with ICAO alpha-3 codes (Doc 9303 Part 3
//! §5, ISO 3166-1 alpha-3 plus ICAO's own: `D` for Germany, `GBD`…`GBS`, `UNO`, `XOM`,
//! `RKS`, `EUE`), certificates with ISO 3166-1 alpha-2 in `C=` (Doc 9303 Part 12 §7.1.1).

/// ISO 3166-1 alpha-3 → alpha-2, sorted by alpha-3.
#[rustfmt::skip]
const ALPHA3: &[(&str, &str)] = &[
    ("ABW", "AW"), ("AFG", "AF"), ("AGO", "AO"), ("AIA", "AI"), ("ALA", "AX"), ("ALB", "AL"), ("AND", "AD"),
    ("ARE", "AE"), ("ARG", "AR"), ("ARM", "AM"), ("ASM", "AS"), ("ATA", "AQ"), ("ATF", "TF"), ("ATG", "AG"),
    ("AUS", "AU"), ("AUT", "AT"), ("AZE", "AZ"), ("BDI", "BI"), ("BEL", "BE"), ("BEN", "BJ"), ("BES", "BQ"),
    ("BFA", "BF"), ("BGD", "BD"), ("BGR", "BG"), ("BHR", "BH"), ("BHS", "BS"), ("BIH", "BA"), ("BLM", "BL"),
    ("BLR", "BY"), ("BLZ", "BZ"), ("BMU", "BM"), ("BOL", "BO"), ("BRA", "BR"), ("BRB", "BB"), ("BRN", "BN"),
    ("BTN", "BT"), ("BVT", "BV"), ("BWA", "BW"), ("CAF", "CF"), ("CAN", "CA"), ("CCK", "CC"), ("CHE", "CH"),
    ("CHL", "CL"), ("CHN", "CN"), ("CIV", "CI"), ("CMR", "CM"), ("COD", "CD"), ("COG", "CG"), ("COK", "CK"),
    ("COL", "CO"), ("COM", "KM"), ("CPV", "CV"), ("CRI", "CR"), ("CUB", "CU"), ("CUW", "CW"), ("CXR", "CX"),
    ("CYM", "KY"), ("CYP", "CY"), ("CZE", "CZ"), ("DEU", "DE"), ("DJI", "DJ"), ("DMA", "DM"), ("DNK", "DK"),
    ("DOM", "DO"), ("DZA", "DZ"), ("ECU", "EC"), ("EGY", "EG"), ("ERI", "ER"), ("ESH", "EH"), ("ESP", "ES"),
    ("EST", "EE"), ("ETH", "ET"), ("EUE", "EU"), ("FIN", "FI"), ("FJI", "FJ"), ("FLK", "FK"), ("FRA", "FR"),
    ("FRO", "FO"), ("FSM", "FM"), ("GAB", "GA"), ("GBD", "GB"), ("GBN", "GB"), ("GBO", "GB"), ("GBP", "GB"),
    ("GBR", "GB"), ("GBS", "GB"), ("GEO", "GE"), ("GGY", "GG"), ("GHA", "GH"), ("GIB", "GI"), ("GIN", "GN"),
    ("GLP", "GP"), ("GMB", "GM"), ("GNB", "GW"), ("GNQ", "GQ"), ("GRC", "GR"), ("GRD", "GD"), ("GRL", "GL"),
    ("GTM", "GT"), ("GUF", "GF"), ("GUM", "GU"), ("GUY", "GY"), ("HKG", "HK"), ("HMD", "HM"), ("HND", "HN"),
    ("HRV", "HR"), ("HTI", "HT"), ("HUN", "HU"), ("IDN", "ID"), ("IMN", "IM"), ("IND", "IN"), ("IOT", "IO"),
    ("IRL", "IE"), ("IRN", "IR"), ("IRQ", "IQ"), ("ISL", "IS"), ("ISR", "IL"), ("ITA", "IT"), ("JAM", "JM"),
    ("JEY", "JE"), ("JOR", "JO"), ("JPN", "JP"), ("KAZ", "KZ"), ("KEN", "KE"), ("KGZ", "KG"), ("KHM", "KH"),
    ("KIR", "KI"), ("KNA", "KN"), ("KOR", "KR"), ("KWT", "KW"), ("LAO", "LA"), ("LBN", "LB"), ("LBR", "LR"),
    ("LBY", "LY"), ("LCA", "LC"), ("LIE", "LI"), ("LKA", "LK"), ("LSO", "LS"), ("LTU", "LT"), ("LUX", "LU"),
    ("LVA", "LV"), ("MAC", "MO"), ("MAF", "MF"), ("MAR", "MA"), ("MCO", "MC"), ("MDA", "MD"), ("MDG", "MG"),
    ("MDV", "MV"), ("MEX", "MX"), ("MHL", "MH"), ("MKD", "MK"), ("MLI", "ML"), ("MLT", "MT"), ("MMR", "MM"),
    ("MNE", "ME"), ("MNG", "MN"), ("MNP", "MP"), ("MOZ", "MZ"), ("MRT", "MR"), ("MSR", "MS"), ("MTQ", "MQ"),
    ("MUS", "MU"), ("MWI", "MW"), ("MYS", "MY"), ("MYT", "YT"), ("NAM", "NA"), ("NCL", "NC"), ("NER", "NE"),
    ("NFK", "NF"), ("NGA", "NG"), ("NIC", "NI"), ("NIU", "NU"), ("NLD", "NL"), ("NOR", "NO"), ("NPL", "NP"),
    ("NRU", "NR"), ("NZL", "NZ"), ("OMN", "OM"), ("PAK", "PK"), ("PAN", "PA"), ("PCN", "PN"), ("PER", "PE"),
    ("PHL", "PH"), ("PLW", "PW"), ("PNG", "PG"), ("POL", "PL"), ("PRI", "PR"), ("PRK", "KP"), ("PRT", "PT"),
    ("PRY", "PY"), ("PSE", "PS"), ("PYF", "PF"), ("QAT", "QA"), ("REU", "RE"), ("RKS", "XK"), ("ROU", "RO"),
    ("RUS", "RU"), ("RWA", "RW"), ("SAU", "SA"), ("SDN", "SD"), ("SEN", "SN"), ("SGP", "SG"), ("SGS", "GS"),
    ("SHN", "SH"), ("SJM", "SJ"), ("SLB", "SB"), ("SLE", "SL"), ("SLV", "SV"), ("SMR", "SM"), ("SOM", "SO"),
    ("SPM", "PM"), ("SRB", "RS"), ("SSD", "SS"), ("STP", "ST"), ("SUR", "SR"), ("SVK", "SK"), ("SVN", "SI"),
    ("SWE", "SE"), ("SWZ", "SZ"), ("SXM", "SX"), ("SYC", "SC"), ("SYR", "SY"), ("TCA", "TC"), ("TCD", "TD"),
    ("TGO", "TG"), ("THA", "TH"), ("TJK", "TJ"), ("TKL", "TK"), ("TKM", "TM"), ("TLS", "TL"), ("TON", "TO"),
    ("TTO", "TT"), ("TUN", "TN"), ("TUR", "TR"), ("TUV", "TV"), ("TWN", "TW"), ("TZA", "TZ"), ("UGA", "UG"),
    ("UKR", "UA"), ("UMI", "UM"), ("UNA", "UN"), ("UNK", "UN"), ("UNO", "UN"), ("URY", "UY"), ("USA", "US"),
    ("UZB", "UZ"), ("VAT", "VA"), ("VCT", "VC"), ("VEN", "VE"), ("VGB", "VG"), ("VIR", "VI"), ("VNM", "VN"),
    ("VUT", "VU"), ("WLF", "WF"), ("WSM", "WS"), ("XOM", "XO"), ("YEM", "YE"), ("ZAF", "ZA"), ("ZMB", "ZM"),
    ("ZWE", "ZW"),
];

/// The alpha-2 code for a document's issuing state (`D`, `D<<`, `DEU`, `NLD`, or
/// already `DE`); test codes that are not in ISO 3166 (`UTO`, `XA`) map to themselves
/// (three-letter test codes to their first two letters).
pub fn to_alpha2(code: &str) -> String {
    let c = code.trim().trim_end_matches('<').to_ascii_uppercase();
    match c.len() {
        1 if c == "D" => "DE".to_owned(),
        2 => c,
        3 => match ALPHA3.binary_search_by(|(a3, _)| (*a3).cmp(c.as_str())) {
            Ok(i) => ALPHA3.get(i).map(|(_, a2)| (*a2).to_owned()).unwrap_or(c),
            Err(_) => c.get(..2).unwrap_or_default().to_owned(),
        },
        _ => c,
    }
}

/// True when a certificate's `C=` and a document's issuing state name the same country.
pub fn same_country(cert_c: &str, document_state: &str) -> bool {
    let a = cert_c.trim().to_ascii_uppercase();
    !a.is_empty() && a == to_alpha2(document_state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(ALPHA3.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn icao_codes() {
        assert_eq!(to_alpha2("D"), "DE");
        assert_eq!(to_alpha2("D<<"), "DE");
        assert_eq!(to_alpha2("NLD"), "NL");
        assert_eq!(to_alpha2("GBN"), "GB");
        assert_eq!(to_alpha2("de"), "DE");
        assert_eq!(to_alpha2("UTO"), "UT");
        assert!(same_country("nl", "NLD"));
        assert!(!same_country("NL", "D"));
        assert!(!same_country("", ""));
    }
}
