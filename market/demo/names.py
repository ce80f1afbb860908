"""Building blocks for realistic Chinese demo data."""

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强海燕晓东文博子轩雨婷浩然俊杰嘉欣思远梓涵宇航欣怡"
OWNER_PREFIXES = ["人民政府", "自然资源局", "住房和城乡建设局", "交通运输局", "水务局", "教育局", "卫生健康局", "城市管理和综合执法局",
                  "发展和改革局", "工业和信息化局", "生态环境分局", "农业农村局"]
OWNER_COMPANIES = ["城市建设投资集团有限公司", "交通投资有限公司", "水务集团有限公司", "城市更新发展有限公司", "产业园区开发有限公司",
                   "实业发展有限公司", "置业有限公司", "新能源科技有限公司", "智能制造有限公司", "港务集团有限公司"]
AGENCY_WORDS = ["粤", "南方", "华南", "珠江", "岭南", "广信", "中正", "恒信", "天成", "宏图", "诚达", "建科", "信达", "华诚", "正衡",
                "金桥", "立德", "博睿", "开元", "中衡", "汇智", "嘉和", "联创", "求实", "明德", "长城", "合众", "大地", "远景", "同济"]
AGENCY_SUFFIX = {
    "surveying": "测绘有限公司", "eia": "环境科技有限公司", "safety": "安全技术咨询有限公司", "energy": "节能技术服务有限公司",
    "drawing_review": "施工图审查有限公司", "land_valuation": "土地房地产评估有限公司", "audit": "会计师事务所（特殊普通合伙）",
    "soil_water": "水土保持技术有限公司", "seismic": "地震工程勘察研究院有限公司", "traffic": "交通规划设计研究院有限公司",
}
PROJECTS = ["道路改造工程", "学校扩建项目", "污水处理厂提标改造", "综合医院新建工程", "产业园基础设施", "河道综合整治", "安置房建设项目",
            "体育中心建设", "垃圾焚烧发电项目", "轨道交通站点综合开发", "旧村改造项目", "物流园区建设", "数据中心建设", "公园提升工程"]


def person_name(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def phone(rng) -> str:
    return "1" + rng.choice("35789") + "".join(rng.choice("0123456789") for _ in range(9))


GENERIC_SUFFIX = "技术服务有限公司"  # an agency name's ending when its trade has none in AGENCY_SUFFIX


def offered_items(rng, by_category: dict, categories: list, category: str) -> list:
    """One to three catalogue items of the agency's trade, and a quarter of the time one of another."""
    pool = by_category[category]
    chosen = rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))
    if rng.random() < 0.25:  # some agencies also offer an item of another trade
        other = by_category[categories[rng.randrange(len(categories))]]
        extra = other[rng.randrange(len(other))]
        if extra not in chosen:
            chosen.append(extra)
    return chosen
