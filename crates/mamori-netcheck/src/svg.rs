//! placeholder
pub fn render_svg(_n: &crate::Network, _r: &crate::Report) -> String {
    String::new()
}
