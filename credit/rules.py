"""The seed catalogue of breach rules (regulators edit it afterwards)."""

from django.utils.translation import gettext_lazy as _

# code, name, description, severity, points, ban_days, automatic
SEED_RULES = [
    ("REFUSE_SIGN", "中选后拒不签约", "中选后无正当理由拒绝签订合同，或在规定期限内未确认合同。", "major", 10, 90, True),
    ("NO_RESPONSE", "报名后不响应", "报名参与选取后无故不响应、不报价或中途退出。", "minor", 3, 0, True),
    ("ABANDON_3", "一年内三次放弃中选", "12个月内累计三次放弃中选资格。", "major", 15, 180, True),
    ("OVERRUN", "合同超期10个工作日以上", "超出合同约定服务期限10个工作日以上未提交服务成果。", "major", 8, 0, True),
    ("EXPIRED_QUAL", "使用过期资质", "以已过期的资质证书参与选取或承接服务。", "major", 10, 90, True),
    ("FAKE_MATERIALS", "提供虚假材料", "在入驻、报名或履约中提供虚假证照、业绩或其他材料。", "serious", 30, 365, False),
    ("OVERCHARGE", "超标准收费", "超出政府定价、政府指导价或合同约定收取费用。", "major", 15, 180, False),
    ("COLLUSION", "串通投标", "与其他中介机构或项目业主串通报价、轮流中选。", "serious", 40, 730, False),
    ("BRIBERY", "行贿", "向项目业主、评审人员或监管人员行贿或提供不正当利益。", "serious", 50, 1095, False),
]

GRADE_THRESHOLDS = [("A", 90), ("B", 75), ("C", 60), ("D", 0)]
STAR_THRESHOLDS = [(5, 90), (4, 75), (3, 60), (2, 40), (1, 0)]
GRADE_LABELS = {"A": _("A (excellent)"), "B": _("B (good)"), "C": _("C (fair)"), "D": _("D (poor)")}
