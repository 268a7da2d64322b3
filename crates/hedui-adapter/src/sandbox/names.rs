//! Word lists for the fictional roster: names, places, banks and employers.
//!
//! Surnames are the common ones of Dejiang county, where Tujia and Han
//! families share the same names. Villages, roads and companies are invented;
//! only the county's townships are real, so that addresses read naturally.

/// Common surnames, with the most frequent ones listed twice so that they come
/// up more often.
pub(crate) const SURNAMES: &[&str] = &[
    "杨", "张", "田", "安", "冉", "王", "李", "陈", "覃", "周", "谢", "何", "刘", "黄", "吴", "罗", "龙", "付", "蒋",
    "任", "简", "邹", "彭", "肖", "宋", "向", "滕", "邓", "杨", "张", "田", "冉", "安", "王",
];

/// Characters used in men's given names.
pub(crate) const MALE_CHARS: &[&str] = &[
    "国", "建", "志", "明", "军", "强", "伟", "勇", "平", "林", "文", "斌", "海", "波", "俊", "杰", "涛", "鹏", "浩",
    "宇", "鑫", "磊", "刚", "成", "光", "德", "忠", "福", "贵", "兴", "荣", "永", "胜", "云", "江", "祥", "飞", "超",
    "辉", "洪", "昌", "正", "学", "万", "发", "开", "顺", "安",
];

/// Characters used in women's given names.
pub(crate) const FEMALE_CHARS: &[&str] = &[
    "秀", "芳", "英", "兰", "华", "玉", "梅", "珍", "丽", "燕", "琴", "霞", "娟", "敏", "静", "婷", "萍", "红", "艳",
    "丹", "雪", "琳", "慧", "佳", "欣", "怡", "思", "雨", "月", "春", "桂", "凤", "菊", "莲", "群", "翠", "洁", "倩",
    "媛",
];

/// Townships of Dejiang outside the county seat, for rural addresses.
pub(crate) const TOWNSHIPS: &[&str] = &[
    "煎茶镇",
    "潮砥镇",
    "枫香溪镇",
    "稳坪镇",
    "高山镇",
    "泉口镇",
    "长堡镇",
    "共和镇",
    "平原镇",
    "合兴镇",
    "复兴镇",
    "沙溪乡",
    "桶井乡",
    "钱家乡",
    "龙泉乡",
    "堰塘乡",
    "荆角乡",
    "楠杆乡",
    "长丰乡",
];

/// Invented village names.
pub(crate) const VILLAGES: &[&str] = &[
    "新场", "大坪", "红岩", "青岗", "双龙", "水井", "茶园", "白果", "黄泥", "石板", "田坝", "中坝", "龙井", "竹林",
    "高峰", "凉风", "杉树", "柏香",
];

/// The two subdistricts of the county seat, for urban addresses.
pub(crate) const SUBDISTRICTS: &[&str] = &["青龙街道", "玉水街道"];

/// Street names in the county seat.
pub(crate) const ROADS: &[&str] = &[
    "青龙路",
    "玉水路",
    "解放路",
    "中华路",
    "人民路",
    "和平路",
    "滨江路",
    "文化路",
    "南门路",
    "东风路",
    "迎宾大道",
    "乌江路",
];

/// Bank branches that hold the roster's accounts.
pub(crate) const BANKS: &[&str] = &[
    "中国农业银行德江县支行",
    "中国建设银行德江支行",
    "中国工商银行德江支行",
    "中国邮政储蓄银行德江县支行",
    "贵州德江农村商业银行",
    "中国银行德江支行",
];

/// The bank that pays rural pensions (the social-security card bank), so
/// elderly people always hold an account there.
pub(crate) const PENSION_BANK: &str = "贵州德江农村商业银行";

/// Issuers of wealth-management products.
pub(crate) const PRODUCT_ISSUERS: &[&str] = &["农银理财有限责任公司", "建信理财有限责任公司", "工银理财有限责任公司"];

/// Fund companies, for fund holdings.
pub(crate) const FUND_ISSUERS: &[&str] = &[
    "华夏基金管理有限公司",
    "易方达基金管理有限公司",
    "南方基金管理股份有限公司",
];

/// Invented trade names for companies and shops.
pub(crate) const TRADE_NAMES: &[&str] = &[
    "鑫源", "恒盛", "乌江", "扶阳", "金鼎", "盛达", "宏远", "佳美", "天和", "兴旺", "福瑞", "顺达", "黔东", "玉龙",
    "青峰", "泰和",
];

/// Company-name endings.
pub(crate) const COMPANY_KINDS: &[&str] = &[
    "商贸有限公司",
    "建材有限公司",
    "农业开发有限公司",
    "运输有限公司",
    "建筑工程有限公司",
    "餐饮管理有限公司",
];

/// Shop-name endings for individual businesses (个体工商户).
pub(crate) const SHOP_KINDS: &[&str] = &["建材店", "五金店", "农资店", "副食店", "家具店", "汽车修理部"];

/// Invented employers for people with a wage job.
pub(crate) const EMPLOYERS: &[&str] = &[
    "德江县青龙物业服务有限公司",
    "德江县鑫源建材有限公司",
    "德江县乌江运输有限公司",
    "德江县扶阳商贸有限公司",
    "德江县玉水酒店管理有限公司",
    "铜仁市恒盛建筑工程有限公司",
    "德江县佳美服饰有限公司",
    "德江县天和农业开发有限公司",
];
