//! The demo organisation's 情報資産管理台帳: about two hundred assets of a fire service, a care
//! home and a secretariat — systems, media, equipment, electronic and printed information and
//! system documents — with their relations, a few take-outs, one disposal, and a handful of
//! deliberate rule breaches so the 要対応 view has something to show.
//!
//! The base rows are written as a register would be (one line per asset, `|` between columns);
//! yearly series (救急活動記録 for each 年度, 議会資料 …) and terminals are generated.

use mamori_core::asset::Scheme;
use mamori_core::calendar::parse_date;
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_db::Db;
use mamori_db::assets::{self, DisposalInput, TakeOutInput};
use mamori_db::org::{self, AuditCtx};
use mamori_web::features::inventory::form::AssetDraft;

/// Columns: 資産番号 | 名称 | 業務名 | 種別 | 所管課 | 管理者 | 媒体 | 保存場所 | 施錠 | ネットワーク区分 |
/// 機密性 | 完全性 | 可用性 | 個人情報件数 (空欄: 無) | 要配慮 | 特定 | 取扱制限 | 保存期間 | バックアップ |
/// 委託先・クラウド | 最終確認日 | 保存する資産番号 (空白区切り).
const BASE: &str = "\
J-NW-001|庁内LAN（LGWAN接続系）|庁内ネットワーク|ネットワーク|jimu-somu-joho|tokatsu|DB・システム|本庁舎サーバ室|1|LGWAN接続系|2|2|2||||||||2026-04-15|
J-NW-002|マイナンバー利用事務系ネットワーク|住民情報系ネットワーク|ネットワーク|jimu-somu-joho|tokatsu|DB・システム|本庁舎サーバ室|1|マイナンバー利用事務系|3B|2|2||||||||2026-04-15|
J-NW-003|インターネット接続系（自治体情報セキュリティクラウド経由）|インターネット利用|ネットワーク|jimu-somu-joho|tokatsu|DB・システム|本庁舎サーバ室|1|インターネット接続系|2|1|2|||||||山梨県自治体情報セキュリティクラウド|2026-04-15|
J-SYS-001|財務会計システム|財務会計|情報システム|jimu-zaimu|zaimu.kacho|DB・システム|本庁舎サーバ室|1|LGWAN接続系|3C|2|2|||||10年|日次（庁内バックアップ装置）|財務会計システム保守事業者|2026-04-20|J-INF-010 J-INF-011 J-INF-012
J-SYS-002|人事給与システム|人事給与|情報システム|jimu-somu|tokatsu|DB・システム|本庁舎サーバ室|1|LGWAN接続系|3B|2|2|||||5年|日次|人事給与システム保守事業者|2026-04-20|J-INF-001 J-INF-002
J-SYS-003|文書管理システム|文書管理|情報システム|jimu-somu-somu|tokatsu|DB・システム|LGWAN-ASP|1|LGWAN接続系|3C|2|1||||||日次（ASP事業者）|文書管理LGWAN-ASP事業者|2026-04-20|J-INF-020
J-SYS-004|グループウェア|庁内連絡|情報システム|jimu-somu-joho|tokatsu|DB・システム|LGWAN-ASP|1|LGWAN接続系|2|1|2||||||日次（ASP事業者）|グループウェアLGWAN-ASP事業者|2026-04-20|
J-SYS-005|ホームページ管理システム（CMS）|広報|情報システム|jimu-somu-somu|tokatsu|DB・システム|クラウド（CMS事業者）|1|インターネット接続系|1|2|1||||||日次|CMSクラウド事業者|2026-04-20|J-INF-030
J-SYS-006|無害化通信装置（メール・ファイル）|インターネット分離|情報システム|jimu-somu-joho|tokatsu|DB・システム|本庁舎サーバ室|1|LGWAN接続系|2|2|2||||||||2026-04-20|
J-SYS-007|住民情報連携基盤（中間サーバー接続）|番号連携|情報システム|jimu-somu-joho|tokatsu|DB・システム|本庁舎サーバ室|1|マイナンバー利用事務系|3B|2|2||||||||2026-04-20|J-INF-003
J-SYS-008|施設予約システム|施設管理|情報システム|jimu-gyomu|gyomu.kacho|DB・システム|本庁舎サーバ室|1||2|1|1||||||||2026-04-20|
J-INF-001|人事記録（職員台帳）|人事管理|情報（電子）|jimu-somu|tokatsu|DB・システム|人事給与システム|1|LGWAN接続系|3C|2|1|180|○||関係者限り・複製禁止|退職後5年|||2026-04-20|
J-INF-002|給与支給データ|給与計算|情報（電子）|jimu-somu|tokatsu|DB・システム|人事給与システム|1|LGWAN接続系|3B|2|2|180|||関係者限り・複製禁止・持出禁止|5年|||2026-04-20|
J-INF-003|職員の個人番号（マイナンバー）|源泉徴収・社会保険|情報（電子）|jimu-somu|tokatsu|DB・システム|住民情報連携基盤|1|マイナンバー利用事務系|3B|2|2|180||○|関係者限り・複製禁止・持出禁止・転送禁止|退職後7年|||2026-04-20|
J-INF-010|予算・決算データ|予算編成・決算|情報（電子）|jimu-zaimu|zaimu.kacho|DB・システム|財務会計システム|1|LGWAN接続系|2|2|2||||||||2026-04-20|
J-INF-011|支出負担行為・支出命令データ|会計事務|情報（電子）|jimu-zaimu-keiri|zaimu.kacho|DB・システム|財務会計システム|1|LGWAN接続系|3C|2|2|500|||関係者限り|10年|||2026-04-20|
J-INF-012|債権者（支払先）口座情報|会計事務|情報（電子）|jimu-zaimu-keiri|zaimu.kacho|DB・システム|財務会計システム|1|LGWAN接続系|3C|2|1|800|||関係者限り・複製禁止|5年|||2026-04-20|
J-INF-020|起案文書・決裁文書|文書管理|情報（電子）|jimu-somu-somu|tokatsu|DB・システム|文書管理システム|1|LGWAN接続系|2|2|1||||||||2026-04-20|
J-INF-021|例規集（条例・規則）|法務|情報（電子）|jimu-somu-somu|tokatsu|電子ファイル|文書管理システム|1|LGWAN接続系|1|2|1||||||||2026-04-20|
J-INF-030|ホームページ掲載情報|広報|情報（電子）|jimu-somu-somu|tokatsu|DB・システム|ホームページ管理システム|1|インターネット接続系|1|2|1||||||||2026-04-20|
J-INF-031|情報公開請求書・決定通知|情報公開|情報（紙）|jimu-somu-somu|tokatsu|紙|総務課 書庫（施錠）|1||3C|1|1|40|||関係者限り・持出禁止|5年|||2026-04-20|
J-INF-032|会計伝票綴り|会計事務|情報（紙）|jimu-zaimu-keiri|zaimu.kacho|紙|財政課 事務室書棚|0||2|2|1||||||||2026-04-20|
J-INF-033|入札・契約関係書類|契約事務|情報（紙）|jimu-zaimu|zaimu.kacho|紙|財政課 書庫（施錠）|1||3C|2|1||||持出禁止|5年|||2026-04-20|
J-INF-034|施設使用許可申請書|施設管理|情報（紙）|jimu-gyomu-shisetsu|gyomu.kacho|紙|業務課 書庫（施錠）|1||2|1|1|300|||関係者限り|3年|||2026-04-20|
J-INF-035|ごみ処理施設 運転日報|施設管理|情報（紙）|jimu-gyomu-shisetsu|gyomu.kacho|紙|施設係 キャビネット（施錠）|1||2|2|1||||||||2025-05-20|
J-DOC-001|ネットワーク構成図|情報システム管理|システム関係文書|jimu-somu-joho|tokatsu|電子ファイル|情報政策係 共有フォルダ（アクセス制限）|1|LGWAN接続系|3C|2|1||||関係者限り・配付禁止||||2026-04-15|
J-DOC-002|財務会計システム 設計書・仕様書|情報システム管理|システム関係文書|jimu-zaimu|zaimu.kacho|紙|財政課 書庫（施錠）|1||3C|1|1||||配付禁止・持出禁止||||2026-04-20|
J-DOC-003|情報セキュリティ実施手順|情報セキュリティ|システム関係文書|jimu-somu-joho|tokatsu|電子ファイル|情報政策係 共有フォルダ（アクセス制限）|1|LGWAN接続系|3C|2|1||||関係者限り・配付禁止||||2026-04-15|
J-MED-001|バックアップ用外付けディスク（財務会計）|バックアップ|電磁的記録媒体|jimu-zaimu|zaimu.kacho|記録媒体|サーバ室 耐火金庫|1||3C|2|2||||暗号化必須・持出禁止||||2026-04-20|J-INF-010 J-INF-011 J-INF-012
J-MED-002|データ受渡し用USBメモリ（総務課）|データ受渡し|電磁的記録媒体|jimu-somu|tokatsu|記録媒体|総務課 キャビネット（施錠）|1||3C|1|1||||||||2026-04-20|
S-SYS-001|高機能消防指令システム|119通報受付・指令|情報システム|shobo-shirei|shirei.kacho|DB・システム|消防本部 指令室|1|LGWAN接続系|3B|2|2|||||||指令システム保守事業者|2026-04-18|S-INF-001 S-INF-002 S-INF-003
S-SYS-002|消防救急デジタル無線|無線通信|情報システム|shobo-shirei|shirei.kacho|DB・システム|消防本部 指令室・各署|1|LGWAN接続系|2|2|2|||||||無線設備保守事業者|2026-04-18|
S-SYS-003|救急業務支援システム（救急隊タブレット）|救急活動|情報システム|shobo-keibo|keibo.kacho|DB・システム|各署 救急車両|1|LGWAN接続系|3C|2|2|||||||救急支援システム事業者|2026-04-18|S-INF-010
S-SYS-004|予防査察支援システム|予防査察|情報システム|shobo-yobo|yobo.kacho|DB・システム|本庁舎サーバ室|1|LGWAN接続系|2|2|1|||||||予防システム保守事業者|2026-04-18|S-INF-020
S-SYS-005|消防本部 ホームページ・メール配信|広報・防災情報|情報システム|shobo-somu|shobo.somu.kacho|DB・システム|クラウド|1|インターネット接続系|1|2|2|||||||配信サービス事業者|2026-04-18|
S-INF-001|119番通報受付記録（音声・発信地情報）|119通報受付|情報（電子）|shobo-shirei|shirei.kacho|DB・システム|高機能消防指令システム|1|LGWAN接続系|3B|2|2|25000|○||関係者限り・複製禁止・持出禁止|3年|||2026-04-18|
S-INF-002|出動記録（指令台帳）|指令|情報（電子）|shobo-shirei|shirei.kacho|DB・システム|高機能消防指令システム|1|LGWAN接続系|3C|2|2|5000|||関係者限り|10年|||2026-04-18|
S-INF-003|災害弱者・要援護者情報（指令システム登録）|119通報受付|情報（電子）|shobo-shirei|shirei.kacho|DB・システム|高機能消防指令システム|1|LGWAN接続系|3B|2|2|1200|○||関係者限り・複製禁止・持出禁止|更新の都度|||2026-04-18|
S-INF-010|救急活動記録（電子）|救急活動|情報（電子）|shobo-keibo|keibo.kacho|DB・システム|救急業務支援システム|1|LGWAN接続系|3B|2|2|6000|○||関係者限り・複製禁止・持出禁止|5年|||2026-04-18|
S-INF-020|防火対象物台帳・査察結果|予防査察|情報（電子）|shobo-yobo|yobo.kacho|DB・システム|予防査察支援システム|1|LGWAN接続系|2|2|1|2000|||関係者限り|永年|||2026-04-18|
S-INF-021|危険物施設許可台帳|危険物規制|情報（紙）|shobo-yobo|yobo.kacho|紙|予防課 書庫（施錠）|1||2|2|1|400|||関係者限り|永年|||2026-04-18|
S-INF-022|火災調査書類（原因判定書・写真）|火災調査|情報（紙）|shobo-yobo|yobo.kacho|紙|予防課 書庫（施錠）|1||3C|2|1|150|○||持出禁止・複製禁止|10年|||2026-04-18|
S-INF-030|消防職員 勤務表・出退勤記録|人事|情報（電子）|shobo-somu|shobo.somu.kacho|電子ファイル|グループウェア|1|LGWAN接続系|2|1|1|120|||関係者限り|3年|||2026-04-18|
S-INF-031|消防団員名簿|消防団|情報（電子）|shobo-somu|shobo.somu.kacho|電子ファイル|総務課 共有フォルダ|1|LGWAN接続系|3C|1|1|650|||関係者限り・複製禁止|更新の都度|||2025-06-01|
S-DOC-001|高機能消防指令システム 設計書・回線図|指令|システム関係文書|shobo-shirei|shirei.kacho|紙|指令室 キャビネット（施錠）|1||3C|1|1||||配付禁止・複製禁止・持出禁止||||2026-04-18|
S-MED-001|指令システム バックアップテープ|バックアップ|電磁的記録媒体|shobo-shirei|shirei.kacho|記録媒体|指令室 耐火金庫|1||3B|2|2||||暗号化必須・持出禁止||||2026-04-18|S-INF-001 S-INF-002
S-MED-002|救急隊 画像伝送用SDカード|救急活動|電磁的記録媒体|shobo-keibo|keibo.kacho|記録媒体|身延消防署 救急車両|0||3C|1|1||||||||2026-04-18|S-INF-010
K-SYS-001|介護記録システム|入所者介護|情報システム|jiseien-kanri|jiseien.kanri|DB・システム|慈生園 事務室サーバ|1|LGWAN接続系|2|2|2||||||日次|介護ソフト保守事業者|2026-04-22|K-INF-001 K-INF-002 K-INF-003
K-SYS-002|介護報酬請求（給付管理）システム|給付管理|情報システム|jiseien-kanri|jiseien.kanri|DB・システム|慈生園 事務室|1|LGWAN接続系|3B|2|2||||||日次|介護ソフト保守事業者|2026-04-22|K-INF-010
K-SYS-003|見守りセンサーシステム|夜間見守り|情報システム|jiseien-shien|shien.kakaricho|DB・システム|慈生園 各居室・詰所|1||2|1|2|||||||見守り機器事業者|2026-04-22|
K-INF-001|入所者ケース記録|入所者支援|情報（電子）|jiseien-shien|shien.kakaricho|DB・システム|介護記録システム|1|LGWAN接続系|3B|2|2|80|○||関係者限り・複製禁止・持出禁止|完結後5年|||2026-04-22|
K-INF-002|看護記録・服薬管理|看護|情報（電子）|jiseien-kango|kango.kakaricho|DB・システム|介護記録システム|1|LGWAN接続系|3B|2|2|80|○||関係者限り・複製禁止・持出禁止|完結後5年|||2026-04-22|
K-INF-003|個別支援計画（ケアプラン）|入所者支援|情報（電子）|jiseien-shien|shien.kakaricho|DB・システム|介護記録システム|1|LGWAN接続系|3B|2|1|80|○||関係者限り・複製禁止|完結後5年|||2026-04-22|
K-INF-010|介護給付費請求データ（国保連伝送）|給付管理|情報（電子）|jiseien-kanri|jiseien.kanri|DB・システム|介護報酬請求システム|1|LGWAN接続系|3B|2|2|80|○||関係者限り・複製禁止・持出禁止|5年|||2026-04-22|
K-INF-011|入所者 預り金台帳|預り金管理|情報（紙）|jiseien-kanri|jiseien.kanri|紙|事務室 金庫|1||3C|2|1|80|||持出禁止・関係者限り|5年|||2026-04-22|
K-INF-012|入所申込書・判定資料|入所判定|情報（紙）|jiseien-kanri|jiseien.kanri|紙|事務室 書庫（施錠）|1||3B|1|1|150|○||関係者限り・持出禁止|5年|||2026-04-22|
K-INF-013|家族連絡先一覧|入所者支援|情報（電子）|jiseien-shien|shien.kakaricho|電子ファイル|生活支援係 共有フォルダ|1|LGWAN接続系|3C|1|2|160|||関係者限り|更新の都度|||2025-04-10|
K-INF-014|ボランティア受入名簿|地域交流|情報（電子）|jiseien-kanri|jiseien.kanri|電子ファイル|事務室 共有フォルダ|1|LGWAN接続系|2|1|1|60|||||||2026-04-22|
K-MED-001|介護記録 バックアップ用USBディスク|バックアップ|電磁的記録媒体|jiseien-kanri|jiseien.kanri|記録媒体|事務室 金庫|1||3B|2|2||||暗号化必須・持出禁止||||2026-04-22|K-INF-001 K-INF-002 K-INF-003
K-DOC-001|介護記録システム 操作マニュアル・設定書|入所者介護|システム関係文書|jiseien-kanri|jiseien.kanri|紙|事務室 キャビネット|1||2|1|1||||||||2026-04-22|
";

/// Yearly series: (資産番号の接頭辞, 名称, 業務名, 所管課, 管理者, 機密性, 件数, 要配慮, 保存場所, 保存期間).
type Series = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    bool,
    &'static str,
    &'static str,
);

const SERIES: &[Series] = &[
    (
        "S-MIN-Q",
        "救急活動記録票（身延消防署）",
        "救急活動",
        "shobo-minobu",
        "minobu.shocho",
        "3B",
        900,
        true,
        "身延消防署 書庫（施錠）",
        "5年",
    ),
    (
        "S-KAJ-Q",
        "救急活動記録票（鰍沢消防署）",
        "救急活動",
        "shobo-kajikazawa",
        "kajikazawa.shocho",
        "3B",
        700,
        true,
        "鰍沢消防署 書庫（施錠）",
        "5年",
    ),
    (
        "S-MIN-F",
        "火災出動報告書（身延消防署）",
        "警防活動",
        "shobo-minobu",
        "minobu.shocho",
        "3C",
        40,
        false,
        "身延消防署 書庫（施錠）",
        "10年",
    ),
    (
        "S-KAJ-F",
        "火災出動報告書（鰍沢消防署）",
        "警防活動",
        "shobo-kajikazawa",
        "kajikazawa.shocho",
        "3C",
        35,
        false,
        "鰍沢消防署 書庫（施錠）",
        "10年",
    ),
    (
        "S-YOB-S",
        "立入検査結果通知書",
        "予防査察",
        "shobo-yobo",
        "yobo.kacho",
        "2",
        300,
        false,
        "予防課 書庫（施錠）",
        "5年",
    ),
    (
        "J-GIK",
        "議会資料（定例会・臨時会）",
        "議会",
        "jimu-somu-somu",
        "tokatsu",
        "1",
        0,
        false,
        "総務課 書庫（施錠）",
        "永年",
    ),
    (
        "J-YOS",
        "予算書・予算説明資料",
        "予算編成",
        "jimu-zaimu",
        "zaimu.kacho",
        "1",
        0,
        false,
        "財政課 書庫（施錠）",
        "永年",
    ),
    (
        "J-KES",
        "決算書・決算附属書類",
        "決算",
        "jimu-zaimu",
        "zaimu.kacho",
        "1",
        0,
        false,
        "財政課 書庫（施錠）",
        "永年",
    ),
    (
        "J-SHI",
        "支出命令書綴り",
        "会計事務",
        "jimu-zaimu-keiri",
        "zaimu.kacho",
        "2",
        0,
        false,
        "会計係 書庫（施錠）",
        "10年",
    ),
    (
        "J-KYU",
        "給与支給明細・源泉徴収簿",
        "給与計算",
        "jimu-somu",
        "tokatsu",
        "3C",
        180,
        false,
        "総務課 書庫（施錠）",
        "7年",
    ),
    (
        "K-KAI",
        "介護記録（紙・日誌）",
        "入所者介護",
        "jiseien-shien",
        "shien.kakaricho",
        "3B",
        80,
        true,
        "生活支援係 書庫（施錠）",
        "完結後5年",
    ),
    (
        "K-KAN",
        "看護日誌・受診記録",
        "看護",
        "jiseien-kango",
        "kango.kakaricho",
        "3B",
        80,
        true,
        "看護係 書庫（施錠）",
        "完結後5年",
    ),
    (
        "K-KYU",
        "給食・栄養管理記録",
        "給食",
        "jiseien-kanri",
        "jiseien.kanri",
        "3C",
        80,
        true,
        "事務室 書庫（施錠）",
        "3年",
    ),
    (
        "K-JIK",
        "事故報告書・ヒヤリハット報告",
        "リスク管理",
        "jiseien-shien",
        "shien.kakaricho",
        "3C",
        60,
        true,
        "生活支援係 書庫（施錠）",
        "5年",
    ),
    (
        "S-KEN",
        "消防職員 健康診断結果",
        "安全衛生",
        "shobo-somu",
        "shobo.somu.kacho",
        "3C",
        120,
        true,
        "総務課 書庫（施錠）",
        "5年",
    ),
    (
        "J-NIN",
        "任用・人事異動関係書類",
        "人事管理",
        "jimu-somu",
        "tokatsu",
        "3C",
        180,
        false,
        "総務課 書庫（施錠）",
        "10年",
    ),
    (
        "J-KOU",
        "公印使用簿",
        "文書管理",
        "jimu-somu-somu",
        "tokatsu",
        "2",
        0,
        false,
        "総務係 キャビネット（施錠）",
        "5年",
    ),
    (
        "S-SHI-R",
        "119番通報 録音記録の保存媒体一覧",
        "119通報受付",
        "shobo-shirei",
        "shirei.kacho",
        "3C",
        0,
        false,
        "指令室 キャビネット（施錠）",
        "3年",
    ),
];

/// The 年度 of the yearly series (令和3〜7年度).
const YEARS: [(i32, &str); 5] = [
    (2021, "令和3年度"),
    (2022, "令和4年度"),
    (2023, "令和5年度"),
    (2024, "令和6年度"),
    (2025, "令和7年度"),
];

/// Terminals: (資産番号の接頭辞, 名称, 所管課, 管理者, ネットワーク区分, 台数).
const TERMINALS: &[(&str, &str, &str, &str, &str, usize)] = &[
    (
        "J-PC",
        "LGWAN接続系端末（事務局）",
        "jimu-somu-joho",
        "tokatsu",
        "LGWAN接続系",
        12,
    ),
    (
        "J-MN",
        "マイナンバー利用事務系端末（事務局）",
        "jimu-somu-joho",
        "tokatsu",
        "マイナンバー利用事務系",
        2,
    ),
    (
        "J-NT",
        "インターネット接続系端末（仮想ブラウザ）",
        "jimu-somu-joho",
        "tokatsu",
        "インターネット接続系",
        2,
    ),
    (
        "S-PC",
        "LGWAN接続系端末（消防本部）",
        "shobo-somu",
        "shobo.somu.kacho",
        "LGWAN接続系",
        10,
    ),
    (
        "S-CM",
        "指令台（指令システム端末）",
        "shobo-shirei",
        "shirei.kacho",
        "LGWAN接続系",
        4,
    ),
    (
        "K-PC",
        "LGWAN接続系端末（慈生園）",
        "jiseien-kanri",
        "jiseien.kanri",
        "LGWAN接続系",
        8,
    ),
];

fn draft_from_line(line: &str) -> Option<(AssetDraft, String)> {
    let cols: Vec<&str> = line.split('|').collect();
    let col = |i: usize| cols.get(i).copied().unwrap_or("").to_owned();
    let count = col(13);
    Some((
        AssetDraft {
            asset_no: col(0),
            name: col(1),
            business: col(2),
            kind: col(3),
            unit: col(4),
            manager: col(5),
            medium: col(6),
            location: col(7),
            lockable: col(8),
            zone: col(9),
            confidentiality: col(10),
            integrity: col(11),
            availability: col(12),
            personal: if count.is_empty() { "0" } else { "1" }.to_owned(),
            personal_count: count,
            sensitive: if col(14).is_empty() { "0" } else { "1" }.to_owned(),
            my_number: if col(15).is_empty() { "0" } else { "1" }.to_owned(),
            restrictions: col(16),
            retention: col(17),
            backup: col(18),
            contractor: col(19),
            last_reviewed: col(20),
            users_scope: String::new(),
            exception_ref: String::new(),
            note: String::new(),
        },
        col(21),
    ))
}

/// Every demo asset as a draft, with the 資産番号 it holds.
pub fn drafts() -> Vec<(AssetDraft, String)> {
    let mut out: Vec<(AssetDraft, String)> = BASE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(draft_from_line)
        .collect();
    for (prefix, name, business, unit, manager, conf, count, sensitive, place, keep) in SERIES {
        for (i, (year, label)) in YEARS.iter().enumerate() {
            // The newest year's 救急活動記録票 lacks 持出禁止 (A004) and the oldest 給食記録 was
            // never confirmed (A006): deliberate breaches for the 要対応 view.
            let newest = i == YEARS.len() - 1;
            let restrictions = match (*conf, newest && prefix.ends_with("-Q")) {
                ("3B", true) => "関係者限り",
                ("3B" | "3C", false) => "関係者限り・持出禁止",
                _ => "",
            };
            let reviewed = if *prefix == "K-KYU" && i == 0 {
                String::new()
            } else {
                "2026-04-24".to_owned()
            };
            out.push((
                AssetDraft {
                    asset_no: format!("{prefix}-{year}"),
                    name: format!("{name} {label}"),
                    business: (*business).to_owned(),
                    kind: "情報（紙）".into(),
                    unit: (*unit).to_owned(),
                    manager: (*manager).to_owned(),
                    medium: "紙".into(),
                    location: (*place).to_owned(),
                    lockable: "1".into(),
                    zone: String::new(),
                    confidentiality: (*conf).to_owned(),
                    integrity: "2".into(),
                    availability: "1".into(),
                    personal: if *count > 0 { "1" } else { "0" }.into(),
                    personal_count: if *count > 0 {
                        count.to_string()
                    } else {
                        String::new()
                    },
                    sensitive: if *sensitive { "1" } else { "0" }.into(),
                    my_number: "0".into(),
                    users_scope: "所管課の職員".into(),
                    restrictions: restrictions.into(),
                    retention: (*keep).to_owned(),
                    backup: String::new(),
                    contractor: String::new(),
                    exception_ref: String::new(),
                    last_reviewed: reviewed,
                    note: String::new(),
                },
                String::new(),
            ));
        }
    }
    for (prefix, name, unit, manager, zone, n) in TERMINALS {
        for i in 1..=*n {
            out.push((
                AssetDraft {
                    asset_no: format!("{prefix}-{i:03}"),
                    name: format!("{name} {i:02}"),
                    business: "事務用端末".into(),
                    kind: "機器".into(),
                    unit: (*unit).to_owned(),
                    manager: (*manager).to_owned(),
                    medium: "DB・システム".into(),
                    location: "執務室".into(),
                    lockable: "1".into(),
                    zone: (*zone).to_owned(),
                    confidentiality: "2".into(),
                    integrity: "1".into(),
                    availability: "1".into(),
                    personal: "0".into(),
                    personal_count: String::new(),
                    sensitive: "0".into(),
                    my_number: "0".into(),
                    users_scope: "所管課の職員".into(),
                    restrictions: "暗号化必須".into(),
                    retention: "リース期間".into(),
                    backup: String::new(),
                    contractor: "端末リース事業者".into(),
                    exception_ref: String::new(),
                    last_reviewed: "2026-04-15".into(),
                    note: String::new(),
                },
                String::new(),
            ));
        }
    }
    out
}

/// Loads the demo register into the organisation: every asset, their holdings, two take-outs,
/// one disposal, and a 人事異動 that hands two assets to a successor not yet made 管理者.
pub async fn load(db: &Db, org_id: i64, ctx: &AuditCtx) -> anyhow::Result<usize> {
    let org = OrgId(org_id);
    let tree = org::unit_tree(db, org).await?;
    let (persons, _) = org::list_persons(db, org, &org::PersonFilter::default(), 0, 10_000).await?;
    let login = |l: &str| persons.iter().find(|p| p.login == l).map(|p| p.id);
    let cap = Capability::<can::EditAssets>::operator(org);
    let mut tx = db.begin_write().await?;
    let mut created: Vec<(String, i64)> = Vec::new();
    let all = drafts();
    for (draft, _) in &all {
        let input = draft
            .read(&tree, Scheme::R6, &|l| login(l))
            .map_err(|p| anyhow::anyhow!("demo asset {}: {p:?}", draft.asset_no))?;
        let id = assets::create(&mut tx, &cap, ctx, &tree, &input)
            .await
            .map_err(|e| anyhow::anyhow!("demo asset {}: {e} {e:?}", draft.asset_no))?;
        created.push((draft.asset_no.clone(), id));
    }
    let id_of = |no: &str| created.iter().find(|(n, _)| n == no).map(|(_, id)| *id);
    for (draft, held) in &all {
        if held.trim().is_empty() {
            continue;
        }
        let holder = id_of(&draft.asset_no)
            .ok_or_else(|| anyhow::anyhow!("demo holder {}", draft.asset_no))?;
        let ids: Vec<i64> = held.split_whitespace().filter_map(id_of).collect();
        assets::set_holdings(&mut tx, &cap, ctx, &tree, holder, &ids)
            .await
            .map_err(|e| anyhow::anyhow!("demo holdings of {}: {e} {e:?}", draft.asset_no))?;
    }
    let day = |s: &str| parse_date(s).map_err(|e| anyhow::anyhow!("{e}"));
    // A take-out still out, and one returned.
    let take_ctx = AuditCtx {
        actor_id: login("keibo.kacho"),
        actor: "keibo.kacho".into(),
        ..ctx.clone()
    };
    if let (Some(asset), Some(person)) = (id_of("S-MED-002"), login("keibo")) {
        assets::take_out(
            &mut tx,
            &cap,
            &take_ctx,
            &tree,
            asset,
            &TakeOutInput {
                person_id: person,
                purpose: "救急隊の画像伝送訓練".into(),
                destination: "山梨県消防学校".into(),
                out_on: day("2026-11-20")?,
                due_on: Some(day("2026-11-27")?),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo take-out: {e}"))?;
    }
    let kanri_ctx = AuditCtx {
        actor_id: login("jiseien.kanri"),
        actor: "jiseien.kanri".into(),
        ..ctx.clone()
    };
    if let (Some(asset), Some(person)) = (id_of("K-DOC-001"), login("jiseien.jimu")) {
        let tid = assets::take_out(
            &mut tx,
            &cap,
            &kanri_ctx,
            &tree,
            asset,
            &TakeOutInput {
                person_id: person,
                purpose: "操作研修の資料".into(),
                destination: "南部町 研修会場".into(),
                out_on: day("2026-06-10")?,
                due_on: Some(day("2026-06-10")?),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo take-out: {e}"))?;
        assets::take_out_return(&mut tx, &cap, &kanri_ctx, &tree, asset, tid)
            .await
            .map_err(|e| anyhow::anyhow!("demo return: {e}"))?;
    }
    // The oldest 支出命令書綴り reached the end of its retention and was dissolved.
    if let (Some(asset), Some(person)) = (id_of("J-SHI-2021"), login("keiri")) {
        assets::dispose(
            &mut tx,
            &cap,
            ctx,
            &tree,
            asset,
            &DisposalInput {
                on: day("2026-10-30")?,
                person_id: person,
                method: "保存期間満了により溶解処理（職員立会い）".into(),
                certificate: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo disposal: {e}"))?;
    }
    // 人事異動: the 施設係 assets were handed to 施設係 staff before the 管理者 role was
    // granted — an A005 breach the 要対応 view shows.
    if let Some(to) = login("shisetsu") {
        let moved: Vec<i64> = ["J-INF-034", "J-INF-035"]
            .iter()
            .filter_map(|n| id_of(n))
            .collect();
        let unit = tree
            .by_code("jimu-gyomu-shisetsu")
            .map(|u| u.id)
            .ok_or_else(|| anyhow::anyhow!("demo unit jimu-gyomu-shisetsu"))?;
        assets::move_assets(&mut tx, &cap, ctx, &tree, &moved, unit, Some(to))
            .await
            .map_err(|e| anyhow::anyhow!("demo 人事異動: {e}"))?;
    }
    tx.commit().await?;
    Ok(created.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_two_hundred_assets_with_unique_numbers() {
        let all = drafts();
        assert!((180..=260).contains(&all.len()), "{}", all.len());
        let mut numbers: Vec<&str> = all.iter().map(|(d, _)| d.asset_no.as_str()).collect();
        numbers.sort_unstable();
        let before = numbers.len();
        numbers.dedup();
        assert_eq!(before, numbers.len());
    }
}
