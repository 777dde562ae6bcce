//! Every token and secret vector of featbit-protocol.md §1.2–§1.3.

use super::*;

const CLIENT_SECRET: &str = "gpnOV3wI3kKAO9q9viC0wQWdKZrVAf2U6gAnxl4lSH3w";
const SERVER_SECRET: &str = "v3faJy3RCUO8d-EJiVdN6waRfGjfNan02Ms9c0LiTD6w";

#[test]
fn decodes_env_id_in_dotnet_guid_byte_order() {
    assert_eq!(env_id(CLIENT_SECRET).expect("valid").to_string(), "ad99d259-1f50-4ed9-a002-7c65e25487df");
    assert_eq!(env_id(SERVER_SECRET).expect("valid").to_string(), "8dc61769-5af3-4d9f-8cb3-d7342e24c3eb");
}

#[test]
fn generated_secrets_are_44_chars_and_decode_to_their_env() {
    let env = Uuid::new_v4();
    for _ in 0..100 {
        let s = generate(env);
        assert_eq!(s.len(), SECRET_LEN);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{s}");
        assert_eq!(env_id(&s), Ok(env));
    }
}

#[test]
fn rejects_structurally_invalid_secrets() {
    assert_eq!(env_id(""), Err(SecretError::Length(0)));
    assert_eq!(env_id("short"), Err(SecretError::Length(5)));
    assert!(env_id(&" ".repeat(44)).is_err());
    // The nil GUID is not an environment.
    assert_eq!(
        env_id(&format!("{}{}", &CLIENT_SECRET[..22], "AAAAAAAAAAAAAAAAAAAAAA")),
        Err(SecretError::NoEnvironment)
    );
    assert_eq!(
        env_id(&format!("{}{}", &CLIENT_SECRET[..22], "!!!!!!!!!!!!!!!!!!!!!!")),
        Err(SecretError::NoEnvironment)
    );
}

#[test]
fn number_vectors() {
    for (code, n) in [
        ("QQQ", 0u64),
        ("QWS", 23),
        ("BWZ", 128),
        ("WHH", 255),
        ("BDDBXZPZPXSDQ", 1_661_784_847_360),
        ("BWSPHDXZUQ", 1_234_567_890),
        ("", 0),
        ("   ", 0),
    ] {
        assert_eq!(decode_number(code.as_bytes()), Some(n), "{code}");
    }
    assert_eq!(decode_number(b"QQA"), None);
    assert_eq!(encode_number(23, 3), "QWS");
    assert_eq!(encode_number(13, 2), "BS");
    assert_eq!(encode_number(1_666_018_247_603, 13), "BDDDQBZWPXDQS");
}

#[test]
fn builds_the_worked_example_token() {
    let token = ConnectionToken::build(CLIENT_SECRET, 1_666_018_247_603, 23);
    assert_eq!(token, "QWSBSgpnOV3wI3kKAO9q9viC0wQWBDDDQBZWPXDQSdKZrVAf2U6gAnxl4lSH3w");
    assert_eq!(
        ConnectionToken::parse(&token),
        Ok(ConnectionToken { secret: CLIENT_SECRET.into(), timestamp: 1_666_018_247_603 })
    );
}

#[test]
fn parses_the_els_fixture_tokens_with_15_digit_timestamps() {
    let client =
        ConnectionToken::parse("QWSBHgpnOV3wI3kKAO9q9viC0wQWQQBDDDQBZWPXDQSdKZrVAf2U6gAnxl4lSH3w").expect("valid");
    assert_eq!(client, ConnectionToken { secret: CLIENT_SECRET.into(), timestamp: 1_666_018_247_603 });
    let server =
        ConnectionToken::parse("QBPBHv3faJy3RCUO8d-QQBDDDQBZZQQXHPEJiVdN6waRfGjfNan02Ms9c0LiTD6w").expect("valid");
    assert_eq!(server, ConnectionToken { secret: SERVER_SECRET.into(), timestamp: 1_666_018_800_754 });
}

#[test]
fn rejects_the_invalid_test_tokens() {
    for bad in ["", " ", "4chs", "5chars", "QDUBHYWVkLWNiZT", "QQQQS123", "WHHQQ", "UUUQQabc", "QWSBSé"] {
        assert_eq!(ConnectionToken::parse(bad), Err(SecretError::Token), "{bad:?}");
    }
}

#[test]
fn every_split_point_round_trips() {
    for start in 0..60 {
        let token = ConnectionToken::build(SERVER_SECRET, 1_795_606_809_941, start);
        assert_eq!(ConnectionToken::parse(&token).expect("valid").secret, SERVER_SECRET, "start {start}");
    }
}
