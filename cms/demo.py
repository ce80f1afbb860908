"""The Wagtail page tree with demo content: home, fee schedules, notices, policies, guides."""

from __future__ import annotations

import datetime

from django.db import transaction
from wagtail.models import Page, Site

from .models import (FeeSchedulePage, GuideIndexPage, GuidePage, HomePage, NoticeIndexPage, NoticePage, PolicyIndexPage,
                     PolicyPage)

NOTICES = [
    ("关于全面推行网上中介服务超市“一地入驻、全省通行”的通知", "各地市、各有关单位：自即日起，中介机构在本平台完成一次入驻审核后即可在全省范围内承接中介服务，任何地区、行业不得设置额外的入驻门槛或数量限制。"),
    ("关于开展2026年度中介机构“双随机一公开”抽查工作的公告", "根据年度监管计划，将从在库中介机构中随机抽取检查对象，随机选派执法检查人员，检查结果将向社会公开。"),
    ("平台系统升级维护公告", "为提升服务质量，平台将于本周六22:00至次日2:00进行系统升级，届时暂停报名与报价服务，已设定的截止时间将相应顺延。"),
    ("关于公布2026年第三季度中介机构失信名单的公告", "经核查，现将本季度存在拒不签约、虚假材料等失信行为的中介机构名单予以公布，相关机构在限制期内不得承接平台业务。"),
]
POLICIES = [
    ("国务院办公厅关于清理规范国务院部门行政审批中介服务的通知", "国办发〔2015〕31号", "国务院办公厅", datetime.date(2015, 4, 27),
     "切实破除垄断，规范中介服务收费，推动中介服务机构与审批部门脱钩，实行中介服务清单管理。"),
    ("广东省网上中介服务超市管理办法", "粤府办〔2021〕18号", "广东省人民政府办公厅", datetime.date(2021, 6, 1),
     "网上中介服务超市实行中介机构“零门槛、零限制”入驻，项目业主通过平台公开选取中介机构，严禁指定或变相指定。"),
    ("广东省中介服务机构信用评价管理办法", "粤政数〔2023〕9号", "广东省政务服务和数据管理局", datetime.date(2023, 3, 15),
     "建立中介服务机构信用评价体系，对失信中介机构实施联合惩戒，“一处失信、处处受限”。"),
]
GUIDES = [
    ("项目业主办事指南", "owner", "注册账号、单位核验、发布采购公告、组织选取、签订合同、验收与评价。",
     "<ol><li>注册账号并登记单位信息（统一社会信用代码、所在地区、联系人）。</li><li>等待监管部门核验。</li><li>发布采购公告：选择服务事项，填写项目信息、资金来源、最高限价与选取方式。</li><li>报名截止后按公告规则选取中介机构，结果公示。</li><li>公示期满签订合同，验收服务成果并进行服务评价。</li></ol>"),
    ("中介机构办事指南", "agency", "一次入驻、全省通行：提交资料、审核公示、报名报价、签约履约。",
     "<ol><li>注册账号后填写机构入驻申请：基本信息、营业执照、资质证书、执业人员与服务事项。</li><li>监管部门审核通过后进入公示期，公示无异议即入驻成功。</li><li>在采购公告截止前报名报价，报价在截止前对任何人保密。</li><li>中选后按期签约、按时提交服务成果。</li></ol>"),
    ("监管部门工作指引", "regulator", "入驻审核、事项清单维护、信用管理、投诉处理与随机抽查。",
     "<ul><li>审核中介机构入驻申请与项目业主单位核验。</li><li>维护中介服务事项清单与收费标准。</li><li>记录失信行为，管理黑名单与红名单。</li><li>处理质疑、投诉，开展双随机抽查。</li></ul>"),
    ("社会公众查询指南", "public", "无需登录即可查询收费标准、公告、结果、合同与信用名单。",
     "<p>社会公众可在本站查询中介服务事项及收费标准、采购公告、选取结果、合同公示、信用名单，并可下载符合OCDS标准的开放数据。</p>"),
]


def seed(**_kwargs) -> dict:
    with transaction.atomic():
        root = Page.get_first_root_node()
        if root is None:  # a flushed database (transactional tests) has lost Wagtail's tree root
            from django.conf import settings
            from wagtail.coreutils import get_supported_content_language_variant
            from wagtail.models import Locale

            Locale.objects.get_or_create(language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
            root = Page.add_root(instance=Page(title="Root", slug="root"))
        home = HomePage.objects.first()
        if home is None:
            # Replace Wagtail's welcome page with our home page.
            for page in root.get_children():
                if page.specific_class is Page:
                    page.slug = f"old-{page.pk}"
                    page.save_revision().publish()
            home = root.add_child(instance=HomePage(
                title="广东省网上中介服务超市", slug="home",
                intro="<p>项目业主公开选取中介服务，中介机构一地入驻、全省通行，全程留痕、结果公开、信用约束。</p>"))
            Site.objects.update_or_create(is_default_site=True, defaults={
                "hostname": "localhost", "port": 80, "root_page": home, "site_name": "广东省网上中介服务超市"})
            for page in root.get_children().exclude(pk=home.pk):
                if page.specific_class is Page:
                    page.delete()
        if not FeeSchedulePage.objects.exists():
            home.add_child(instance=FeeSchedulePage(title="中介服务事项及收费标准", slug="fees",
                                                    intro="<p>全省统一的中介服务事项清单，含设定依据、资质要求、服务时限与收费标准。</p>"))
        notices = NoticeIndexPage.objects.first() or home.add_child(instance=NoticeIndexPage(title="通知公告", slug="notices"))
        policies = PolicyIndexPage.objects.first() or home.add_child(instance=PolicyIndexPage(title="政策法规", slug="policies"))
        guides = GuideIndexPage.objects.first() or home.add_child(instance=GuideIndexPage(title="办事指南", slug="guides"))
        for i, (title, body) in enumerate(NOTICES):
            if not NoticePage.objects.filter(title=title).exists():
                notices.add_child(instance=NoticePage(title=title, slug=f"notice-{i + 1}", date=datetime.date(2026, 11, 1 + i * 5),
                                                      body=f"<p>{body}</p>"))
        for i, (title, number, issuer, date, body) in enumerate(POLICIES):
            if not PolicyPage.objects.filter(title=title).exists():
                policies.add_child(instance=PolicyPage(title=title, slug=f"policy-{i + 1}", document_number=number, issuer=issuer,
                                                       date=date, body=f"<p>{body}</p>"))
        for title, role, summary, body in GUIDES:
            if not GuidePage.objects.filter(role=role).exists():
                guides.add_child(instance=GuidePage(title=title, slug=f"guide-{role}", role=role, summary=summary, body=body))
    return {"pages": Page.objects.count()}
