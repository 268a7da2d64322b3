//! Form bodies and the errors shown next to their fields.

use hedui_i18n::Lang;

/// A decoded `application/x-www-form-urlencoded` body or query string, in
/// order, keys repeated as sent (one per member row).
#[derive(Debug, Default, Clone)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Decodes a body; invalid UTF-8 is replaced, never trusted.
    pub fn parse(bytes: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// Fields already decoded (from a multipart body).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Fields {
        Fields(pairs)
    }

    /// Decodes the query of a URI.
    pub fn query(uri: &http::Uri) -> Fields {
        Fields::parse(uri.query().unwrap_or("").as_bytes())
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// Every value of `name`, in order, trimmed.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// The pairs, for re-filling a form.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Errors to show: each with the field it belongs to (a hub field path such
/// as `household.members[1].id_number`, or a form field name) when there is
/// one, in Chinese.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    /// `(field path, message)`.
    pub fields: Vec<(String, String)>,
    /// Messages about the whole form.
    pub general: Vec<String>,
}

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// A message for a field, already in Chinese.
    pub fn field(&mut self, path: &str, message: impl Into<String>) {
        self.fields.push((path.to_owned(), message.into()));
    }

    /// The errors of a hub answer: its `BadRequest` field violations and
    /// `PreconditionFailure` violations, each said in Chinese with the
    /// field's label (第2位成员·身份证号：…), else one general message.
    pub fn from_status(status: &tonic::Status) -> Errors {
        let mut e = Errors::default();
        for (path, desc) in hedui_proto::status::field_violations(status)
            .into_iter()
            .chain(hedui_proto::status::precondition_violations(status))
        {
            let mut text = hedui_i18n::violation(Lang::Zh, &path, &desc);
            // A sentence this build cannot say in Chinese is not shown in
            // English to a caseworker: the field is named, the IT log has it.
            if hedui_i18n::has_english_sentence(&text) {
                let label = hedui_i18n::field_label(Lang::Zh, &path).unwrap_or_else(|| "此项".to_owned());
                text = format!("{label}：内容不符合要求，请检查后重填");
            }
            e.fields.push((path, text));
        }
        if e.fields.is_empty() {
            e.general.push(general_message(status));
        } else if status.code() == tonic::Code::FailedPrecondition {
            e.general
                .push("授权书未覆盖本次核对（签字人、代签关系、用途或有效期不符），未向任何部门查询。".to_owned());
        }
        e
    }

    /// The messages for `path` (and for paths under it).
    pub fn for_field(&self, path: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(p, _)| p == path || p.starts_with(&format!("{path}.")) || p.starts_with(&format!("{path}[")))
            .map(|(_, m)| m.as_str())
            .collect()
    }

    /// Every message, general first.
    pub fn all(&self) -> Vec<String> {
        self.general
            .iter()
            .cloned()
            .chain(self.fields.iter().map(|(_, m)| m.clone()))
            .collect()
    }
}

/// A status without field details, in Chinese.
fn general_message(status: &tonic::Status) -> String {
    use tonic::Code;
    match status.code() {
        Code::PermissionDenied | Code::Unauthenticated => {
            "您的证书角色无权执行此操作，此次尝试已记入查询日志。".to_owned()
        }
        Code::NotFound => "没有找到对应的记录或批次。".to_owned(),
        Code::Unavailable => "核对平台暂时无法完成此操作，请稍后重试。".to_owned(),
        Code::AlreadyExists => "该记录已被重新核对，请打开最新版本后再操作。".to_owned(),
        Code::FailedPrecondition => {
            "当前状态下不能执行此操作（例如批次已开始或已结束，或记录已有更新版本）。".to_owned()
        }
        Code::DataLoss => "存储的数据未通过完整性校验，请联系管理员。".to_owned(),
        Code::ResourceExhausted => "请求过多或内容过大，请稍后重试或拆分。".to_owned(),
        _ => "请求未被受理，请检查填写的内容。".to_owned(),
    }
}
