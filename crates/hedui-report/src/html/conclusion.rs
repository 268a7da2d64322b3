//! Sections after the figures: the verdict and its reasons, the re-check,
//! the flags, the reviews, the integrity digest, signatures and the footer.

use super::*;

// ---------------------------------------------------------------------------
// Verdict and reasons
// ---------------------------------------------------------------------------

pub(super) fn verdict(r: &VerificationRecord, numeral: &str) -> Markup {
    html! {
        // The heading, the verdict and the re-check notice stay on one page.
        div.keep {
            (heading(numeral, "核对结论及依据"))
            div.verdict {
                span.label { "核对结论：" }
                span.value { (words::verdict_zh(r.verdict)) }
                br;
                (words::verdict_explained(r.verdict))
                br;
                span.muted {
                    "本结论是系统按政策文件（版本 " span.mono { (r.policy_version) }
                    "）作出的建议，不是审批决定；由民政部门审核后决定。"
                }
            }
            @if r.verdict == Verdict::Incomplete as i32 {
                (recheck(r))
            }
        }
        table {
            (colgroup(&[Some(6), Some(22), Some(13), None]))
            thead { tr { th.c { "序号" } th { "规则" } th { "结论" } th { "依据说明" } } }
            tbody {
                @for (i, reason) in r.reasons.iter().enumerate() {
                    @let passes = reason.leads_to == Verdict::MeetsCriteria as i32;
                    tr class=[attention(!passes)] {
                        td.c { (i + 1) }
                        td {
                            (words::rule_zh(&reason.rule)) br;
                            // A break point after each dot of the rule id.
                            span class="mono muted rule" {
                                @for (j, part) in reason.rule.split('.').enumerate() {
                                    @if j > 0 { "." wbr; }
                                    (part)
                                }
                            }
                        }
                        td {
                            @if let Ok(Verdict::MeetsCriteria) = Verdict::try_from(reason.leads_to) {
                                "符合"
                            } @else {
                                b { (hedui_i18n::rule_result(ZH, reason.leads_to)) }
                            }
                        }
                        td { (hedui_i18n::reason(ZH, reason)) }
                    }
                }
                @if r.reasons.is_empty() {
                    tr { td colspan="4" { "记录中没有判定依据。" } }
                }
            }
        }
        p.muted { "依据说明中的“第 N 位成员”指第二部分表中序号为 N 的成员。" }
    }
}

pub(super) fn recheck(r: &VerificationRecord) -> Markup {
    let depts = recheck_departments(r);
    let names: Vec<&str> = depts.iter().map(|d| name_zh(*d)).collect();
    html! {
        div.notice {
            @if depts.is_empty() {
                div.depts { "请复核：见下列“数据来源”依据" }
            } @else {
                div.depts { "请复核：" (names.join("、")) }
            }
            @if let Some(cmd) = recheck_command(r, &depts) {
                div { "复核命令：" code { (cmd) } }
            }
            div.muted {
                "以上部门的结果为超时、无法连接、出错、拒绝或未记录。复核只重新查询这些部门，取得答复后再作结论。"
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Flags with what to check on the home visit
// ---------------------------------------------------------------------------

pub(super) fn flags(r: &VerificationRecord, numeral: &str) -> Markup {
    html! {
        (heading(numeral, "核查提示与入户核查要点"))
        @if r.flags.is_empty() {
            p { "本次核对没有核查提示。" }
        } @else {
            table {
                (colgroup(&[Some(21), Some(27), Some(33), None]))
                thead {
                    tr { th { "提示" } th { "情况说明" } th { "入户核查要点" } th { "核查结果（手写）" } }
                }
                tbody {
                    @for (i, f) in r.flags.iter().enumerate() {
                        @let depts: Vec<String> = f.departments.iter().map(|d| department_zh(*d)).collect();
                        tr {
                            td {
                                b { (i + 1) ". " (words::flag_zh(f.kind)) }
                                @if let Some(m) = f.member_index {
                                    br; (member_label(r, m as usize))
                                }
                                @if !depts.is_empty() {
                                    br; span.muted { (depts.join("、")) }
                                }
                            }
                            td { (hedui_i18n::flag_detail(ZH, f)) }
                            td { (words::flag_advice_zh(f.kind)) }
                            td {}
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Reviews (复核结果), when the caller has them
// ---------------------------------------------------------------------------

pub(super) fn review_list(reviews: &[Review], numeral: &str) -> Markup {
    let outcome = |v: &Review| match ReviewOutcome::try_from(v.outcome) {
        Ok(ReviewOutcome::Confirmed) => "核实无误",
        Ok(ReviewOutcome::Corrected) => "核查更正",
        Ok(ReviewOutcome::Objection) => "家庭异议",
        Ok(ReviewOutcome::Unspecified) | Err(_) => "未知",
    };
    html! {
        (heading(numeral, "复核记录"))
        @if reviews.is_empty() {
            p { "本记录尚无复核记录。" }
        } @else {
            table {
                (colgroup(&[Some(22), Some(12), Some(22), None]))
                thead { tr { th { "时间" } th { "复核结果" } th { "复核人" } th { "说明" } } }
                tbody {
                    @for v in reviews {
                        tr {
                            td { (beijing_time(&v.created_at)) }
                            td { (outcome(v)) }
                            td { (v.reviewer) }
                            td.wrap { (v.note) }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Integrity
// ---------------------------------------------------------------------------

pub(super) fn integrity(r: &VerificationRecord, numeral: &str) -> Markup {
    let ok = hedui_domain::digest::verify(r);
    html! {
        (heading(numeral, "记录完整性校验"))
        table class="kv keep" {
            tr { th { "记录摘要" br; "（SHA-256）" } td class="digest mono" { (r.digest) } }
            tr {
                th { "生成报告时校验" }
                td {
                    @if ok {
                        "已重新计算，与记录内容一致"
                    } @else {
                        b { "不一致：记录内容与摘要不符，本报告不得作为依据，请立即报告系统管理员" }
                    }
                }
            }
            tr { th { "请求编号" } td.mono { (r.request_id) } }
        }
        p class="muted keep" {
            "记录摘要是系统为这份核对记录的全部内容生成的“数字指纹”：记录有任何改动，摘要就会不同；系统每次读取记录时都重新核对，不一致的记录不会被提供。"
        }
    }
}

// ---------------------------------------------------------------------------
// Signatures and footer
// ---------------------------------------------------------------------------

pub(super) fn signatures(numeral: &str) -> Markup {
    html! {
        div.keep {
            (heading(numeral, "签字"))
            table.sign {
                (colgroup(&[Some(22), Some(33), Some(10), None]))
                @for who in ["核对经办人（签字）", "复核人（签字）"] {
                    tr { td { (who) "：" } td.line {} td { "日期：" } td.line { "　　　　年　　月　　日" } }
                }
                tr {
                    td { "单位（盖章）：" }
                    td class="seal" colspan="1" {}
                    td { "日期：" }
                    td.line { "　　　　年　　月　　日" }
                }
            }
        }
    }
}

pub(super) fn footer(r: &VerificationRecord, ctx: &ReportContext<'_>) -> Markup {
    html! {
        footer.end {
            "打印时间：" (beijing_time(ctx.printed_at)) "　·　" (ctx.bureau) "　·　记录编号 "
            span.mono { (r.record_id) }
            br;
            "本报告含家庭成员个人信息，仅用于社会救助家庭经济状况核对，按案卷管理规定保存，不得用于其他用途。"
        }
    }
}
