//! The platform's branding on the hosted pages: name, colour and logo from configuration.
//! The colour goes into a small stylesheet of its own (`/onboarding/brand.css`) because the
//! Content-Security-Policy allows no inline styles.

pub use crate::infra::config::parse_hex_color;

/// WCAG relative luminance.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG contrast ratio of two colours.
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

const WHITE: (u8, u8, u8) = (255, 255, 255);
const INK: (u8, u8, u8) = (0x1a, 0x1a, 0x1a);

/// The brand stylesheet. Whatever colour the platform picks, text on it stays readable: the
/// text colour on the brand background is white or near-black, whichever contrasts more, and
/// links use the brand colour only if it reaches 4.5:1 on white (WCAG AA), else the ink colour.
pub fn stylesheet(color: &str) -> String {
    let rgb = parse_hex_color(color).unwrap_or((0x1f, 0x4f, 0x8a));
    let on_brand = if contrast(rgb, WHITE) >= contrast(rgb, INK) {
        "#ffffff"
    } else {
        "#1a1a1a"
    };
    let (r, g, b) = rgb;
    let brand = format!("#{r:02x}{g:02x}{b:02x}");
    let link = if contrast(rgb, WHITE) >= 4.5 {
        brand.as_str()
    } else {
        "#1a1a1a"
    };
    format!(":root {{ --brand: {brand}; --on-brand: {on_brand}; --link: {link}; }}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_text_stays_readable() {
        assert_eq!(parse_hex_color("#1f4f8a"), Some((0x1f, 0x4f, 0x8a)));
        assert_eq!(parse_hex_color("1f4f8a"), None);
        assert_eq!(parse_hex_color("#1f4f8"), None);
        assert_eq!(parse_hex_color("#gggggg"), None);
        assert!(stylesheet("#1f4f8a").contains("--on-brand: #ffffff"));
        // A pale yellow brand: dark text on it, dark links.
        let pale = stylesheet("#ffee88");
        assert!(pale.contains("--on-brand: #1a1a1a"), "{pale}");
        assert!(pale.contains("--link: #1a1a1a"), "{pale}");
        assert!((contrast(WHITE, (0, 0, 0)) - 21.0).abs() < 0.01);
    }
}
