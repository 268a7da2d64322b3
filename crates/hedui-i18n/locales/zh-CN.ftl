# hedui 消息目录 · 简体中文 (zh-CN)
# 每条消息在 en.ftl 中都有同名的英文消息，参数相同（测试检查）。

## 核对结论

verdict-meets-criteria = 符合条件
verdict-does-not-meet = 不符合条件
verdict-needs-review = 需人工复核
verdict-incomplete = 核对不完整
verdict-unspecified = 未作结论

verdict-meets-criteria-explained = 各必需部门均已答复，按所适用的政策未发现不符合条件的情况。
verdict-does-not-meet-explained = 至少有一项规则判定为不符合条件，见下列依据。
verdict-needs-review-explained = 有事项需要入户核查、人工复核后再作决定，见下列依据和核查要点。
verdict-incomplete-explained = 有必需部门未答复，不能作出结论，更不得视为符合条件；请对未答复的部门复核后再作决定。
verdict-unspecified-explained = 记录中没有可识别的结论，请人工审核。

## 单条规则的结论

rule-result-meets = 符合
rule-result-does-not-meet = 不符合
rule-result-needs-review = 需人工复核
rule-result-incomplete = 核对不完整
rule-result-unspecified = 未知

## 各部门的结果

outcome-ok = 已答复
outcome-no-record = 无记录
outcome-timeout = 超时
outcome-unavailable = 无法连接
outcome-error = 出错
outcome-refused = 拒绝
outcome-unspecified = 未知

## 部门

department-public-security = 公安局
department-natural-resources = 自然资源局
department-housing = 住建局
department-tax = 税务局
department-market-supervision = 市场监督管理局
department-housing-fund = 住房公积金管理中心
department-pboc = 人民银行
department-hrss = 人社局
department-unknown = 未知部门

## 规则

rule-income = 收入
rule-assets = 金融资产
rule-vehicles = 车辆
rule-real-estate = 房产
rule-recent-purchase = 近期购房
rule-business = 经营情况
rule-flags = 核查提示
rule-sources = 数据来源
rule-residence = 城乡类别
rule-other = 其他规则

## 核查提示

flag-identity-mismatch = 姓名与身份证号不符
flag-identity-not-found = 公安无此身份证号
flag-deceased-member = 成员已登记死亡
flag-departments-disagree = 部门信息不一致
flag-recent-acquisition = 核对期内新增车辆或房产
flag-unspecified = 其他提示

flag-advice-identity-mismatch = 当面核验该成员的居民身份证原件和户口簿，核对姓名（含曾用名、同音字、少数民族姓名译写）；属登记错误的，请其到有关部门更正后重新核对
flag-advice-identity-not-found = 当面核验居民身份证原件和户口簿，核实身份证号码是否填错、户口是否已注销或迁出；更正后重新核对
flag-advice-deceased-member = 核实该成员是否已死亡、是否仍在领取养老金，必要时调取死亡证明；确已死亡的，应从家庭成员中减员后重新核对
flag-advice-departments-disagree = 对照各部门记录逐项核实（例如死亡后仍有缴费、领取待遇或纳税记录，或各部门对姓名的核验结果不同），查看相关凭证，问明原因并记录
flag-advice-recent-acquisition = 核实该车辆或房产的取得时间、方式（购买、继承、赠与）、资金来源和实际使用情况，查看购车或购房合同、登记证书
flag-advice-unspecified = 按提示所述情况入户核实，并记录核实结果

## 判定依据（政策规则的说明）

reason-source-missing = 必需部门{ $dept }没有结果记录
reason-source-failed = 必需部门{ $dept }未答复：结果为“{ $outcome }”
reason-source-failed-detail = 必需部门{ $dept }未答复：结果为“{ $outcome }”（{ $source_detail }）
reason-sources-all = { $count } 个必需部门均已答复：{ $answered }
reason-residence-unset = 本户未填城乡类别，按较低的低保标准 { $standard } 元计算
reason-income-below = 人均月收入 { $income } 元，低于{ $which }低保标准 { $standard } 元
reason-income-equal-accepted = 人均月收入 { $income } 元，等于{ $which }低保标准 { $standard } 元，政策规定等于标准视为符合
reason-income-equal-refused = 人均月收入 { $income } 元，等于{ $which }低保标准 { $standard } 元，政策要求低于标准
reason-income-above = 人均月收入 { $income } 元，高于{ $which }低保标准 { $standard } 元
reason-assets-within = 人均金融资产 { $assets } 元，未超过 { $months } 个月{ $which }低保标准（{ $limit } 元）
reason-assets-exceed = 人均金融资产 { $assets } 元，超过 { $months } 个月{ $which }低保标准（{ $limit } 元）
reason-vehicles = 本户在用的非豁免机动车 { $total } 辆；政策允许至多 { $max } 辆
reason-vehicles-by-type = 本户在用的非豁免机动车 { $total } 辆（{ $by_type }）；政策允许至多 { $max } 辆
reason-vehicles-exempt = 本户在用的非豁免机动车 { $total } 辆；政策允许至多 { $max } 辆；另有豁免类型的在用车辆 { $exempt } 辆，不计入
reason-vehicles-by-type-exempt = 本户在用的非豁免机动车 { $total } 辆（{ $by_type }）；政策允许至多 { $max } 辆；另有豁免类型的在用车辆 { $exempt } 辆，不计入
reason-residential = 本户有住宅或宅基地 { $count } 处；政策允许至多 { $max } 处
reason-commercial = 本户有商业或工业用房 { $count } 处；政策允许至多 { $max } 处
reason-recent = 第{ $member }位成员于 { $date } { $what }，在资产基准日 { $ref_date } 前 { $months } 个月内（{ $cutoff } 及以后）
reason-recent-none = 没有在资产基准日 { $ref_date } 前 { $months } 个月内（{ $cutoff } 及以后）的商品房网签合同或计入的房产取得记录
reason-recent-none-undated = 没有在资产基准日 { $ref_date } 前 { $months } 个月内（{ $cutoff } 及以后）的商品房网签合同或计入的房产取得记录；另有 { $undated } 条记录没有可识别的日期，无法判断
reason-business-role = 第{ $member }位成员是一家在营{ $entity }的{ $role }
reason-business-no-roles = 政策不计入任何市场主体任职
reason-business-none = 没有成员在在营市场主体中担任计入的职务（{ $roles }）
reason-capital-above = 在营市场主体认缴出资 { $capital } 元，超过限额 { $limit } 元
reason-capital-within = 在营市场主体认缴出资 { $capital } 元，未超过限额 { $limit } 元
reason-flags-none-listed = 政策不把任何核查提示送人工复核
reason-flags-none = 没有出现需要人工复核的核查提示（{ $kinds }）
reason-untranslated = { $rule }：{ $result }（详细说明见系统记录）

## 核查提示的情况说明

flag-detail-identity-not-found = 公安局查无第{ $member }位成员的身份证号
flag-detail-deceased = 公安局登记第{ $member }位成员已于 { $date } 死亡
flag-detail-name-mismatch = 第{ $member }位成员的姓名与身份证号不符（{ $depts }）
flag-detail-name-disagree = 各部门对第{ $member }位成员的姓名与身份证号是否相符的核验结果不同
flag-detail-active-after-death = 第{ $member }位成员登记于 { $date } 死亡，但{ $depts }在此后仍有记录
flag-detail-recent = { $dept }记录第{ $member }位成员于 { $date } { $what }，在收入核对期内
flag-detail-untranslated = 情况见系统记录

## 各部门结果的说明

source-no-answer = 在 { $ms } 毫秒内未答复
source-breaker-open = 该部门连续失败，本次未查询（已暂停），{ $secs } 秒后再试
source-connection-failed = 无法连接该部门的服务
source-malformed = 答复格式有误，已整体舍弃
source-stale = 该部门说明所提供的数据不是最新的
source-not-configured = 未配置该部门的接入服务
source-note-ok = 已取得该部门的数据
source-note-no-record = 该部门已答复，没有任何成员的记录
source-note-timeout = 在规定时间内未答复
source-note-unavailable = 无法连接该部门
source-note-error = 该部门的答复出错
source-note-refused = 该部门拒绝了查询
source-note-unspecified = 结果未知
source-note-missing = 记录中没有该部门的结果

## 参数中的词

which-urban = 城市
which-rural = 农村
which-lower = 较低的

vehicle-car = 小型汽车
vehicle-truck = 货车
vehicle-motorcycle = 摩托车
vehicle-tricycle = 三轮车
vehicle-agricultural = 农用车
vehicle-disability = 残疾人专用车
vehicle-unspecified = 类型未知的车辆
vehicle-count = { $kind } { $count } 辆

role-legal-representative = 法定代表人
role-director = 董事
role-supervisor = 监事
role-senior-manager = 高级管理人员
role-investor = 投资人/股东
role-operator = 经营者
role-unspecified = 职务未知

entity-company = 公司
entity-individual-business = 个体工商户
entity-partnership = 合伙企业
entity-cooperative = 农民专业合作社
entity-unspecified = 类型未知的市场主体

acquired-contract = 签订商品房网签合同
acquired-property-unspecified = 取得用途未知的房产
acquired-property-residential = 取得住宅
acquired-property-commercial = 取得商业用房
acquired-property-industrial = 取得工业用房
acquired-property-homestead = 取得宅基地
acquired-vehicle = 登记车辆
acquired-property = 取得房产
acquired-home-contract = 签订购房合同

list-separator = 、
answered-item = { $dept }{ $outcome }

## 填写错误的字段

field-member = 第{ $n }位成员
field-signer = 第{ $n }位签字人
field-household-ref = 户编号
field-residence = 城乡类别
field-members = 家庭成员
field-name = 姓名
field-id-number = 身份证号
field-relation = 与申请人关系
field-lacks-capacity = 是否无民事行为能力
field-purpose = 救助类型
field-form-number = 授权书编号
field-signed-date = 签署日期
field-valid-until = 有效期至
field-scan-sha256 = 扫描件 SHA-256
field-signers = 签字人
field-on-behalf-of = 代签成员
field-from-month = 收入起始月
field-to-month = 收入截止月
field-asset-reference-date = 资产基准日
field-quarter = 季度
field-joined = { $outer }·{ $inner }
field-error = { $field }：{ $message }

violation-check-char = 校验码应为 { $expected }，实为 { $found }
violation-no-members = 家庭没有成员
violation-no-applicant = 没有与申请人关系为“申请人”的成员
violation-duplicate-id = 身份证号重复，与第{ $first }位成员相同
violation-one-applicant = 只能有一位成员是申请人，第{ $first }位成员已是申请人
violation-required = 必须填写
violation-required-as = 必须填写
violation-choose = 请选择
violation-unknown-value = 不是可选的值，请重新选择
violation-no-signer = 至少需要一位签字人（成员本人或监护人）
violation-uuid = 编号格式不对
field-authorization-ref = 授权书编号
field-income-window = 收入区间
field-note = 备注
field-outcome = 复核结果
field-departments = 重新核对的部门
field-record-id = 记录编号
roster-differs-in-household = { $text } 与同户第 { $row } 行的 { $other } 不一致；请留空或填写相同的值
roster-differs-for-guardian = { $text } 与第 { $row } 行同一监护人的姓名 { $other } 不一致
roster-differs-from-member = { $text } 与第 { $row } 行持此身份证号的成员姓名不一致
roster-not-a-date = { $text } 不是日期；请写成 2026-11-02、2026/11/2、2026年11月2日 或 20261102
roster-no-month = { $text } 不是日期：没有 { $month } 月
roster-no-day = { $text } 不是日期：{ $ym } 没有 { $day } 日
roster-year-range = { $text }：年份 { $year } 超出范围（1880 至 9999）
roster-not-residence = { $text } 不是城乡类别；应填 城镇 或 农村
roster-not-yes-no = { $text } 不是“是”或“否”（也可填 Y/N 或 √）
roster-row = 第 { $row } 行
roster-row-column = 第 { $row } 行，{ $column }
roster-row-error = { $where }：{ $message }
roster-not-relation = { $text } 不是与申请人关系；应填 本人、配偶、子女、父母、祖父母、孙子女、兄弟姐妹、儿媳/女婿 或 其他
roster-required-for = 必须填写
roster-required-because = 必须填写
roster-blank-guardian = 已填写，但 { $column } 为空
violation-empty = 不能为空
