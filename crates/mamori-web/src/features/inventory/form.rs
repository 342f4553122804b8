//! An asset as typed into a form or sent to the API. The text form and its reading live in
//! [`mamori_db::assets::draft`] (the Excel/CSV import reads rows through the same code); what
//! stays here is how the pages name fields.

pub use mamori_db::assets::draft::AssetDraft;

/// The Japanese label of a field key, for messages.
pub fn field_label(key: &str) -> &'static str {
    match key {
        "asset_no" => "資産番号",
        "name" => "名称",
        "business" => "業務名",
        "kind" => "種別",
        "unit_id" => "所管課",
        "manager_id" => "管理者",
        "medium" => "媒体",
        "location" => "保存場所",
        "lockable" => "施錠",
        "zone" => "ネットワーク区分",
        "confidentiality" => "機密性",
        "integrity" => "完全性",
        "availability" => "可用性",
        "personal" => "個人情報",
        "personal_count" => "個人情報の件数",
        "sensitive" => "要配慮個人情報",
        "my_number" => "特定個人情報",
        "users_scope" => "利用者範囲",
        "restrictions" => "取扱制限",
        "retention" => "保存期間",
        "backup" => "バックアップ",
        "contractor" => "委託先・クラウド",
        "exception_ref" => "例外措置",
        "last_reviewed" => "最終確認日",
        "note" => "備考",
        "held" => "保存する情報資産",
        "person_id" => "職員",
        "purpose" => "目的",
        "destination" => "持出し先",
        "due_on" => "返却予定日",
        "method" => "廃棄の方法",
        "certificate" => "廃棄証明書",
        "on" => "日付",
        _ => "入力",
    }
}
