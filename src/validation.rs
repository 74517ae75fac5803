//! Field validation in the Phoenix/Ecto wording the API uses (`can't be blank`,
//! `has invalid format`, `should be at most 200 character(s)`). Each helper records its
//! message in a [`FieldErrors`] and returns the cleaned value, so a handler collects every
//! problem of a body before answering once.

use crate::error::FieldErrors;

/// A required text field: trimmed, not blank, at most `max` characters.
pub fn required_text(errors: &mut FieldErrors, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => {
            errors.add(field, "can't be blank");
            None
        }
        Some(text) => checked_length(errors, field, text, max),
    }
}

/// An optional text field: trimmed; blank becomes `None`.
pub fn optional_text(errors: &mut FieldErrors, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(text) => checked_length(errors, field, text, max),
    }
}

fn checked_length(errors: &mut FieldErrors, field: &str, text: &str, max: usize) -> Option<String> {
    if text.chars().count() > max {
        errors.add(field, format!("should be at most {max} character(s)"));
        return None;
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        errors.add(field, "is invalid");
        return None;
    }
    Some(text.to_string())
}

/// A plausible e-mail address (one `@`, a dot in the domain, no spaces), kept as written;
/// comparisons elsewhere ignore case.
pub fn email(errors: &mut FieldErrors, field: &str, value: Option<&str>, required: bool) -> Option<String> {
    let text = if required {
        required_text(errors, field, value, 254)?
    } else {
        optional_text(errors, field, value, 254)?
    };
    let valid = match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid {
        errors.add(field, "has invalid format");
        return None;
    }
    Some(text)
}

/// A phone number: digits with the usual punctuation, optionally a leading `+`.
pub fn phone(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    let text = optional_text(errors, field, value, 40)?;
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let allowed = text
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " ().-".contains(c) || (c == '+' && i == 0));
    if !allowed || !(6..=20).contains(&digits) {
        errors.add(field, "has invalid format");
        return None;
    }
    Some(text)
}

/// A CPF (11 digits) or CNPJ (14 digits), with or without punctuation; stored as given.
pub fn tax_document(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    let text = optional_text(errors, field, value, 32)?;
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let punctuation_only = text.chars().all(|c| c.is_ascii_digit() || ".-/ ".contains(c));
    if !punctuation_only || !(digits == 11 || digits == 14) {
        errors.add(field, "must have 11 (CPF) or 14 (CNPJ) digits");
        return None;
    }
    Some(text)
}

/// A `#rrggbb` colour, lower-cased.
pub fn hex_color(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    let text = optional_text(errors, field, value, 7)?;
    let valid = text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !valid {
        errors.add(field, "has invalid format");
        return None;
    }
    Some(text.to_lowercase())
}

/// An absolute http(s) URL (avatars, logos).
pub fn url(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    let text = optional_text(errors, field, value, 2000)?;
    if !(text.starts_with("https://") || text.starts_with("http://")) || text.chars().any(char::is_whitespace) {
        errors.add(field, "has invalid format");
        return None;
    }
    Some(text)
}

/// An RFC 3339 time with any offset, returned in UTC (`is invalid` when it does not parse).
pub fn timestamp(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<crate::time::Timestamp> {
    let text = optional_text(errors, field, value, 64)?;
    let parsed = crate::time::parse(&text);
    if parsed.is_none() {
        errors.add(field, "is invalid");
    }
    parsed
}

/// A password of at least 8 characters (at most 200, so hashing stays bounded).
pub fn password(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    match value {
        None | Some("") => {
            errors.add(field, "can't be blank");
            None
        }
        Some(p) if p.chars().count() < 8 => {
            errors.add(field, "should be at least 8 character(s)");
            None
        }
        Some(p) if p.chars().count() > 200 => {
            errors.add(field, "should be at most 200 character(s)");
            None
        }
        Some(p) => Some(p.to_string()),
    }
}

/// An ASCII slug of `text` (`Suporte Técnico` → `suporte-tecnico`).
pub fn slugify(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug: String = slug.chars().take(90).collect();
    if slug.is_empty() { "department".into() } else { slug }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_document_accepts_cpf_and_cnpj_with_or_without_punctuation() {
        for ok in ["11.222.333/0001-44", "11222333000144", "123.456.789-00", "12345678900"] {
            let mut errors = FieldErrors::new();
            assert_eq!(tax_document(&mut errors, "document", Some(ok)).as_deref(), Some(ok));
            assert!(errors.is_empty());
        }
        for bad in ["123", "11.222.333/0001-4", "abc.def.ghi-jk", "1122233300014455"] {
            let mut errors = FieldErrors::new();
            assert!(tax_document(&mut errors, "document", Some(bad)).is_none());
            assert!(errors.has("document"), "{bad}");
        }
    }

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(slugify("Suporte Técnico"), "suporte-tecnico");
        assert_eq!(slugify("  Télémédecine — Cardiologie!! "), "telemedecine-cardiologie");
        assert_eq!(slugify("???"), "department");
    }
}
