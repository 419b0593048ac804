"""Builds the demo catalog of 伊川县政务数据资源目录 (deploy/demo/catalog.json) deterministically.

    python deploy/demo/build_catalog.py

Resource tables below are one resource per line: ``名称 kinds [flags...]`` where kinds are letters
p=person o=org l=license g=geo s=statistics r=business record, and flags are b (base category),
t:主题 (theme category), u/c/n (sharing type override), g:grp,grp (item groups override), w:关键词、关键词
(summary keywords). Nothing here is real data: the catalog describes resources, it holds no records.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "catalog.json"
rng = random.Random(2020)


def words(text: str) -> list[str]:
    return text.split()


def pairwise_words(text: str) -> list[tuple[str, str]]:
    parts = text.split()
    return list(zip(parts[::2], parts[1::2], strict=True))


DEPARTMENTS = [
    ("YC-GA", "伊川县公安局"),
    ("YC-MZ", "伊川县民政局"),
    ("YC-RS", "伊川县人力资源和社会保障局"),
    ("YC-SJ", "伊川县市场监督管理局"),
    ("YC-ZR", "伊川县自然资源局"),
    ("YC-WJ", "伊川县卫生健康委员会"),
    ("YC-JY", "伊川县教育局"),
    ("YC-ZJ", "伊川县住房和城乡建设局"),
    ("YC-SW", "国家税务总局伊川县税务局"),
    ("YC-BDC", "伊川县不动产登记中心"),
    ("YC-YB", "伊川县医疗保障局"),
    ("YC-NY", "伊川县农业农村局"),
    ("YC-JT", "伊川县交通运输局"),
    ("YC-HB", "洛阳市生态环境局伊川分局"),
    ("YC-SF", "伊川县司法局"),
    ("YC-TJ", "伊川县统计局"),
    ("YC-CZ", "伊川县财政局"),
    ("YC-TY", "伊川县退役军人事务局"),
    ("YC-ZSJ", "伊川县政务服务和大数据管理局"),
]

# ---- item library: "code:名称:类型[:长度]" ----------------------------------------------------------
KINDS = {  # kind -> (items, number of leading items always included)
    "p": (
        "id_number:公民身份号码:C:18 name:姓名:C:50 gender:性别:C:1 birth_date:出生日期:D nation:民族:C:20 "
        "household_address:户籍地址:C:200 phone:联系电话:C:20 residence_address:现居住地址:C:200 "
        "town:所属乡镇(街道):C:50 village:所属村(社区):C:50",
        2,
    ),
    "o": (
        "credit_code:统一社会信用代码:C:18 org_name:单位名称:C:200 legal_representative:法定代表人:C:50 "
        "registered_capital:注册资本:Y established_on:成立日期:D address:住所:C:200 org_type:单位类型:C:50 "
        "business_scope:经营范围:M contact_phone:联系电话:C:20",
        2,
    ),
    "l": (
        "license_no:证照编号:C:50 issue_date:发证日期:D valid_until:有效期至:D issuing_authority:发证机关:C:100 "
        "license_status:证照状态:C:10 permitted_scope:许可范围:M",
        3,
    ),
    "g": (
        "location:坐落:C:200 geometry:空间范围:G area:面积:F longitude:经度:B latitude:纬度:B "
        "coordinate_system:坐标系:C:20",
        2,
    ),
    "s": (
        "stat_year:统计年度:I stat_period:统计期别:C:10 region_code:行政区划代码:C:12 region_name:区域名称:C:50 "
        "indicator_name:指标名称:C:100 indicator_value:指标值:B unit:计量单位:C:20",
        7,
    ),
    "r": (
        "record_no:业务编号:C:32 handled_on:办理日期:D handling_org:经办机构:C:100 handler:经办人:C:50 "
        "record_status:办理状态:C:10 remark:备注:M",
        2,
    ),
}
UPDATED_AT = "updated_at:数据更新时间:T"

GROUPS = {  # group -> (name triggers, items; the first two are always included)
    "hukou": (
        "户籍 户口 身份证 居住 人口 出生 死亡",
        "household_no:户号:C:20 relation_to_head:与户主关系:C:20 police_station:登记派出所:C:100 "
        "hukou_type:户口性质:C:10 education:文化程度:C:20 move_in_date:迁入日期:D move_from:迁出地:C:200 "
        "id_card_valid_until:身份证有效期限:D",
    ),
    "vehicle": (
        "机动车 车辆 拖拉机 收割机 农机",
        "plate_no:号牌号码:C:15 vin:车辆识别代号:C:17 plate_type:号牌种类:C:20 vehicle_type:车辆类型:C:20 "
        "brand_model:品牌型号:C:100 engine_no:发动机号:C:30 owner_name:所有人:C:100 "
        "registered_on:初次登记日期:D vehicle_status:机动车状态:C:10 inspection_valid_until:检验有效期止:D",
    ),
    "driver": (
        "驾驶",
        "driving_license_no:驾驶证号:C:18 permitted_class:准驾车型:C:10 first_issue_date:初次领证日期:D "
        "driving_license_status:驾驶证状态:C:10 penalty_points:累积记分:I",
    ),
    "traffic": (
        "违法 事故",
        "occurred_at:发生时间:T occurred_place:发生地点:C:200 plate_no:号牌号码:C:15 "
        "violation_code:违法行为代码:C:10 accident_type:事故形态:C:20 handling_result:处理结果:M",
    ),
    "police": (
        "重点 在逃 旅馆 出入境 犯罪",
        "control_type:管控类别:C:20 police_station:登记派出所:C:100 "
        "registered_at:登记时间:T place:场所名称:C:200 doc_type:证件种类:C:20 doc_no:证件号码:C:30 "
        "handling_result:处理结果:M",
    ),
    "goods": (
        "爆炸 剧毒 公章 保安",
        "goods_name:物品名称:C:100 quantity:数量:N purpose:用途:C:200 filed_on:备案日期:D seal_type:印章类型:C:20",
    ),
    "marriage": (
        "婚姻",
        "marriage_status:婚姻状况:C:2 marriage_cert_no:结婚证字号:C:30 "
        "spouse_id_number:配偶公民身份号码:C:18 spouse_name:配偶姓名:C:50 registered_on:登记日期:D "
        "registry_office:登记机关:C:100 business_type:登记类型:C:10",
    ),
    "adopt": (
        "收养",
        "adoption_cert_no:收养登记证字号:C:30 adoptee_name:被收养人姓名:C:50 "
        "adoptee_birth_date:被收养人出生日期:D registered_on:登记日期:D",
    ),
    "assist": (
        "低保 最低生活保障 特困 救助 困境 孤儿 留守 补贴 津贴 扶助 奖励 资助 帮扶 帮教",
        "assistance_type:救助类别:C:20 approved_on:批准日期:D household_size:保障人数:I "
        "monthly_amount:月保障金额:Y bank_account:发放账号:C:30 payout_month:发放年月:C:6 "
        "payout_amount:发放金额:Y assistance_status:保障状态:C:10",
    ),
    "socorg": (
        "社会组织 社会团体 慈善 养老机构 殡葬",
        "org_category:组织类别:C:20 supervisor_unit:业务主管单位:C:200 "
        "registered_on:登记日期:D annual_check_result:年检结论:C:20 bed_count:床位数:I",
    ),
    "region": (
        "区划 地名 选举 火化",
        "region_code:行政区划代码:C:12 region_name:区域名称:C:50 "
        "place_name:标准地名:C:100 elected_on:选举日期:D cremated_on:火化日期:D",
    ),
    "insurance": (
        "保险 参保 社保 社会保障 医保 缴纳",
        "insured_type:险种:C:10 insured_status:参保状态:C:10 "
        "social_security_no:社会保障号码:C:18 insured_since:参保日期:D contribution_base:缴费基数:Y "
        "pay_month:缴费年月:C:6 employer_name:参保单位名称:C:200 benefit_amount:待遇金额:Y",
    ),
    "employ": (
        "就业 失业 创业 招聘 职业 职称 工资 人力资源",
        "employment_status:就业状态:C:10 "
        "employer_name:用人单位名称:C:200 registered_on:登记日期:D occupation:职业(工种):C:50 "
        "skill_level:技能等级:C:10 job_title:专业技术职务:C:50 wage_amount:工资金额:Y",
    ),
    "case": (
        "争议 仲裁 监察 援助 调解 复议 案件 矫正 投诉 信访",
        "case_no:案件编号:C:32 case_type:案件类型:C:50 "
        "accepted_on:受理日期:D closed_on:结案日期:D case_result:办理结果:M case_summary:案情摘要:M",
    ),
    "market": (
        "登记 注销 变更 年度报告 名录 合作社 个体 经营主体",
        "reg_authority:登记机关:C:100 "
        "approved_on:核准日期:D reg_status:登记状态:C:10 change_item:变更事项:C:100 report_year:年报年度:I",
    ),
    "credit": (
        "信用 异常 失信",
        "credit_class:信用等级:C:10 list_reason:列入原因:M listed_on:列入日期:D "
        "removed_on:移出日期:D deciding_authority:作出决定机关:C:100",
    ),
    "food": (
        "食品",
        "food_category:食品类别:C:100 business_item:经营项目:C:200 premises:经营场所:C:200 "
        "sampled_on:抽样日期:D inspection_result:检验结论:C:20",
    ),
    "drug": (
        "药品 医疗器械 医保药品",
        "drug_name:药品名称:C:200 dosage_form:剂型:C:20 approval_no:批准文号:C:50 "
        "quality_manager:质量负责人:C:50 reimbursement_class:医保类别:C:10",
    ),
    "equip": (
        "特种设备 计量",
        "equipment_type:设备类别:C:50 equipment_no:设备代码:C:30 use_unit:使用单位:C:200 "
        "next_check_date:下次检验日期:D check_result:检验结论:C:20",
    ),
    "penalty": (
        "处罚 查处 违法用地",
        "decision_no:处罚决定书文号:C:50 violation:违法事实:M "
        "penalty_type:处罚种类:C:50 fine_amount:罚没金额:Y decided_on:处罚决定日期:D",
    ),
    "land": (
        "土地 用地 耕地 农田 矿 林 地质 储备 征收",
        "parcel_code:宗地代码:C:19 land_area:土地面积:F "
        "land_use:土地用途:C:50 right_holder:权利人:C:200 transfer_price:出让价款:Y plot_ratio:容积率:F "
        "hazard_type:灾害类型:C:20",
    ),
    "plan": (
        "规划 测绘 调查",
        "plan_name:规划名称:C:200 plan_level:规划层级:C:20 approved_on:批复日期:D "
        "approval_no:批复文号:C:50 project_name:项目名称:C:200 scale:比例尺:C:20",
    ),
    "birth": (
        "出生",
        "birth_cert_no:出生医学证明编号:C:10 birth_time:出生时间:T birth_weight:出生体重(克):I "
        "mother_name:母亲姓名:C:50 mother_id_number:母亲公民身份号码:C:18 birth_hospital:接生机构:C:200",
    ),
    "death": (
        "死亡",
        "death_date:死亡日期:D death_cause:根本死亡原因:C:200 death_place:死亡地点:C:200 certifying_org:证明机构:C:200",
    ),
    "vaccine": (
        "接种 疫苗",
        "vaccine_name:疫苗名称:C:100 dose_no:剂次:I vaccinated_at:接种时间:T "
        "batch_no:疫苗批号:C:30 vaccination_site:接种单位:C:200 manufacturer:生产企业:C:200",
    ),
    "medical": (
        "医疗机构 医师 护士 卫生许可 放射",
        "institution_name:医疗卫生机构名称:C:200 "
        "practice_category:执业类别:C:50 practice_scope:执业范围:C:200 practice_cert_no:执业证书编码:C:30 "
        "bed_count:核定床位数:I",
    ),
    "health": (
        "健康 孕产 家庭医生 精神 婚前 急救 核酸 传染病 计划生育 独生子女",
        "institution_name:医疗卫生机构名称:C:200 "
        "service_date:服务日期:D service_type:服务类型:C:50 test_result:检测结果:C:20 "
        "diagnosis:诊断名称:C:200 doctor_name:医生姓名:C:50 reported_at:报告时间:T",
    ),
    "student": (
        "学籍 学生 招生 中考 入学 控辍 受益",
        "student_no:全国学籍号:C:19 school_name:学校名称:C:200 "
        "grade:年级:C:10 class_name:班级:C:20 enrolled_on:入学日期:D guardian_name:监护人姓名:C:50 "
        "score:成绩:F",
    ),
    "teacher": (
        "教师 普通话",
        "teacher_cert_no:教师资格证书号码:C:17 cert_type:资格种类:C:50 "
        "teaching_subject:任教学科:C:50 school_name:学校名称:C:200 professional_title:职称:C:20 "
        "training_hours:培训学时:I",
    ),
    "school": (
        "学校 幼儿园 培训机构 校车 教育经费 办学",
        "school_name:学校名称:C:200 school_type:办学类型:C:20 "
        "school_license_no:办学许可证号:C:30 student_count:在校生数:I teacher_count:教职工数:I "
        "funding_amount:经费金额:Y",
    ),
    "build": (
        "建筑 施工 竣工 工程 资质 物业 房地产 燃气 排水 改造 实名",
        "project_code:项目代码:C:24 "
        "project_name:项目名称:C:200 qualification_level:资质等级:C:20 contract_amount:合同金额:Y "
        "construction_unit:建设单位:C:200 started_on:开工日期:D completed_on:竣工日期:D",
    ),
    "housing": (
        "商品房 住房 租赁 危房",
        "project_name:项目名称:C:200 building_no:楼栋号:C:20 house_no:房号:C:20 "
        "building_area:建筑面积:F contract_no:合同编号:C:50 total_price:成交总价:Y presale_permit_no:预售许可证号:C:50",
    ),
    "tax": (
        "税 发票 欠税",
        "taxpayer_id:纳税人识别号:C:20 tax_type:税种:C:20 tax_period:税款所属期:C:7 "
        "tax_amount:税额:Y arrears_amount:欠税余额:Y tax_authority:主管税务机关:C:100 credit_rating:纳税信用等级:C:1",
    ),
    "property": (
        "不动产 房屋 宅基地 房地 存量房 林权 土地使用权 建设用地",
        "property_no:不动产权证号:C:50 "
        "unit_no:不动产单元号:C:28 right_holder:权利人:C:200 right_type:权利类型:C:20 location:坐落:C:200 "
        "building_area:建筑面积:F usage:用途:C:50 registered_on:登记日期:D mortgage_amount:被担保债权数额:Y",
    ),
    "claim": (
        "结算 待遇 慢特病 大病 生育 异地 救助 资助",
        "settlement_no:结算流水号:C:32 "
        "institution_name:医疗机构名称:C:200 total_cost:医疗费用总额:Y fund_paid:统筹基金支付:Y "
        "self_paid:个人自付:Y settled_at:结算时间:T disease_name:病种名称:C:100",
    ),
    "agri": (
        "承包 流转 宅基地",
        "contract_cert_no:土地承包经营权证编号:C:30 contractor:发包方:C:200 "
        "contract_area:承包面积(亩):F parcel_count:地块数:I contract_term:承包期限:C:50 transfer_area:流转面积(亩):F",
    ),
    "farm": (
        "种子 农药 兽药 动物 屠宰 检测 免疫 农田 农场 合作社 集体经济 补贴",
        "product_name:产品名称:C:200 "
        "farm_area:面积(亩):F livestock_count:存栏数量:I checked_on:检测日期:D check_result:检测结论:C:20 "
        "subsidy_amount:补贴金额:Y",
    ),
    "poverty": (
        "脱贫 防返贫 振兴",
        "poverty_status:脱贫状态:C:10 monitoring_type:监测对象类别:C:20 "
        "household_income:家庭年人均纯收入:Y risk_reason:致贫返贫风险:C:100 assistance_measure:帮扶措施:M",
    ),
    "transport": (
        "运输 客运 出租 公交 公路 交通 驾培 维修",
        "transport_license_no:道路运输经营许可证号:C:30 "
        "business_type:经营范围:C:200 route_name:线路名称:C:100 station_name:站场名称:C:200 "
        "road_name:路线名称:C:100 mileage:里程(公里):F",
    ),
    "env": (
        "排污 环境 污染 废物 水质 空气 辐射 环评 土壤",
        "discharge_permit_no:排污许可证编号:C:30 "
        "pollutant:主要污染物:C:200 monitoring_point:监测点位:C:100 monitored_at:监测时间:T "
        "concentration:监测浓度:B emission_standard:执行标准:C:200 industry:行业类别:C:50",
    ),
    "legal": (
        "律师 公证 法律 普法 执法证",
        "practice_cert_no:执业证号:C:30 practice_org:执业机构:C:200 "
        "practice_type:执业类别:C:20 first_practiced_on:首次执业日期:D assessment_result:考核结果:C:20",
    ),
    "finance": (
        "财政 预算 决算 采购 资金 债务 资产 票据 非税 会计 记账 经费 投资",
        "fiscal_year:预算年度:I "
        "project_name:项目名称:C:200 budget_amount:预算金额:Y executed_amount:执行金额:Y "
        "funding_source:资金来源:C:50 subject_code:科目编码:C:20 procurement_method:采购方式:C:20",
    ),
    "veteran": (
        "退役 军人 优抚 烈士 伤残 士兵 光荣 参战",
        "enlisted_on:入伍时间:D discharged_on:退役时间:D "
        "service_type:退役类别:C:20 preferential_type:优抚类别:C:20 disability_level:伤残等级:C:10 "
        "pension_amount:抚恤补助金额:Y preferential_card_no:优待证编号:C:30",
    ),
}

# ---- departments: groups, typical uses, legal bases, update cycles and resources -------------------
DEPT = {
    "YC-GA": (
        "hukou vehicle driver traffic police goods",
        "身份核验与户籍业务协同办理 社会治安综合治理 政务服务事项身份核验 道路交通安全管理",
        "《中华人民共和国个人信息保护法》第三十四条 《中华人民共和国居民身份证法》第六条 "
        "《中华人民共和国户口登记条例》 《中华人民共和国道路交通安全法》",
        """户籍人口基本信息 p b
        居民身份证信息 pl b
        户籍人口变动统计信息 s b
        流动人口居住登记信息 p b
        居住证办理信息 pl
        户口迁移登记信息 pr
        出生户口登记信息 pr b
        死亡人口户口注销信息 pr b
        机动车登记信息 p
        驾驶证信息 pl
        道路交通违法处理信息 pr
        道路交通事故处理信息 r t:安全生产
        机动车检验合格标志信息 l g:vehicle
        重点人员管控信息 p n
        在逃人员信息 p n
        旅馆业住宿登记信息 p n
        出入境证件办理信息 pl n
        无犯罪记录证明开具信息 pr g:police
        公章刻制备案信息 o
        保安服务许可证信息 ol
        剧毒化学品购买许可证信息 ol n
        民用爆炸物品购买许可证信息 ol
        电动自行车登记信息 p g:vehicle
        居民身份证电子证照信息 pl b""",
    ),
    "YC-MZ": (
        "marriage adopt assist socorg region",
        "社会救助资格认定与动态管理 婚姻状况核验 基层社会治理 养老服务监管",
        "《社会救助暂行办法》 《婚姻登记条例》 《中华人民共和国个人信息保护法》第三十四条 《特困人员认定办法》",
        """婚姻登记信息 p b
        社会组织登记信息 o b
        行政区划和地名信息 g b g:region
        最低生活保障对象信息 p t:社会救助
        特困供养人员信息 p t:社会救助
        临时救助对象信息 p t:社会救助
        城乡低保资金发放信息 p t:社会救助
        困境儿童保障信息 p t:社会救助
        农村留守儿童信息 p t:乡村振兴
        孤儿基本生活保障信息 p n
        残疾人两项补贴发放信息 p t:社会救助
        高龄津贴发放信息 p t:养老服务
        养老机构备案信息 o t:养老服务
        社会团体年检信息 o
        遗体火化信息 p
        村(居)民委员会换届选举信息 r
        慈善组织认定信息 o
        收养登记信息 p n
        流浪乞讨人员救助信息 p n
        殡葬服务机构信息 o
        婚姻登记电子证照信息 pl b
        养老服务补贴发放信息 p t:养老服务""",
    ),
    "YC-RS": (
        "insurance employ assist case",
        "社会保险待遇资格认证 就业创业政策落实 劳动保障监察执法 人才服务",
        "《中华人民共和国社会保险法》 《中华人民共和国就业促进法》 《中华人民共和国个人信息保护法》第三十四条 "
        "《劳动保障监察条例》",
        """社会保险参保信息 p b
        社会保障卡信息 pl b
        养老保险待遇发放信息 p
        城乡居民基本养老保险参保信息 p
        机关事业单位养老保险参保信息 p
        工伤保险参保信息 p
        工伤认定信息 pr
        失业登记信息 p
        失业保险金申领信息 pr t:就业创业
        就业登记信息 p b
        就业困难人员认定信息 p t:就业创业
        创业担保贷款信息 pr t:就业创业
        职业技能等级证书信息 pl
        职业培训补贴发放信息 p t:就业创业
        劳动人事争议仲裁案件信息 r n
        劳动保障监察案件信息 or
        人力资源服务机构许可信息 ol
        农民工工资支付监控信息 o t:营商环境 g:employ
        专业技术人员职称评审信息 p
        事业单位公开招聘信息 r
        企业职工基本养老保险参保信息 p
        人力资源市场招聘岗位信息 o t:就业创业""",
    ),
    "YC-SJ": (
        "market credit food drug equip penalty",
        "市场主体身份核验 营商环境优化与“证照分离”改革 事中事后监管 信用联合奖惩",
        "《市场主体登记管理条例》 《企业信息公示暂行条例》 《中华人民共和国食品安全法》 《中华人民共和国行政许可法》",
        """企业登记注册信息 o b
        个体工商户登记信息 op b
        农民专业合作社登记信息 o b
        经营异常名录信息 o b
        严重违法失信企业名单信息 o b
        企业营业执照电子证照信息 ol b g:market
        企业变更登记信息 o b
        企业注销登记信息 o b
        企业年度报告公示信息 o b
        企业信用风险分类信息 o
        食品经营许可证信息 ol t:营商环境
        食品生产许可证信息 ol t:营商环境
        药品经营许可证信息 ol
        医疗器械经营备案信息 o
        特种设备使用登记信息 o t:安全生产
        计量器具强制检定信息 o
        市场监管行政处罚信息 o
        消费投诉举报信息 r n
        食品安全抽检信息 o t:食品安全
        网络交易经营主体信息 o
        小微企业名录信息 o g:market
        股权出质登记信息 o g:market""",
    ),
    "YC-ZR": (
        "land plan penalty",
        "国土空间规划编制与实施监督 耕地保护 建设项目审批 自然资源执法监管",
        "《中华人民共和国土地管理法》 《中华人民共和国城乡规划法》 《中华人民共和国测绘法》 《地质灾害防治条例》",
        """土地利用现状调查信息 g b
        国土空间总体规划信息 g b
        永久基本农田保护信息 g b
        地质灾害隐患点信息 g b
        基础测绘成果信息 g b g:plan
        国有建设用地使用权出让信息 og b
        国有建设用地使用权划拨信息 og
        建设用地规划许可证信息 ol
        建设工程规划许可证信息 ol g:plan
        乡村建设规划许可证信息 pl t:乡村振兴
        村庄规划信息 g t:乡村振兴
        耕地占补平衡信息 g
        土地征收信息 g
        采矿许可证信息 ol
        违法用地查处信息 gr
        林木采伐许可证信息 pl
        土地储备信息 g
        建设项目用地预审信息 og""",
    ),
    "YC-WJ": (
        "birth death vaccine medical health assist",
        "出生、死亡等人口信息核验 公共卫生服务管理 医疗机构监管 疫情防控",
        "《中华人民共和国基本医疗卫生与健康促进法》 《中华人民共和国传染病防治法》 "
        "《中华人民共和国个人信息保护法》第三十四条 《中华人民共和国母婴保健法》",
        """出生医学证明信息 pl b
        死亡医学证明信息 p b
        医疗机构执业许可证信息 ol b
        预防接种信息 p t:疫情防控
        新冠病毒疫苗接种信息 p t:疫情防控
        核酸检测结果信息 p t:疫情防控
        传染病疫情报告信息 p n
        医师执业注册信息 pl
        护士执业注册信息 pl
        居民电子健康档案信息 p n
        孕产妇保健管理信息 p
        儿童健康管理信息 p
        计划生育家庭特别扶助信息 p
        独生子女父母奖励信息 p
        家庭医生签约服务信息 p t:健康服务
        严重精神障碍患者管理信息 p n
        公共场所卫生许可证信息 ol
        放射诊疗许可信息 ol
        婚前医学检查信息 p
        院前急救调度信息 r g:health
        医疗卫生机构基本信息 o b g:medical
        职业病危害项目申报信息 o t:安全生产 g:health""",
    ),
    "YC-JY": (
        "student teacher school assist",
        "学生学籍管理与招生入学 教育资助精准识别 教师队伍管理 校外培训监管",
        "《中华人民共和国教育法》 《教师资格条例》 《中华人民共和国个人信息保护法》第三十四条 "
        "《中华人民共和国义务教育法》",
        """学籍信息 p b
        中小学校基本信息 o b
        家庭经济困难学生资助信息 p t:社会救助
        教师资格证信息 pl b
        教师基本信息 p
        教师培训学时信息 p
        民办学校办学许可证信息 ol t:营商环境
        幼儿园基本信息 o
        义务教育招生入学信息 p
        中考成绩信息 p n
        普通话水平测试等级信息 pl
        校车使用许可信息 ol
        学生体质健康监测信息 p
        校外培训机构信息 o
        营养改善计划受益学生信息 p t:乡村振兴
        义务教育控辍保学信息 p t:乡村振兴
        教育经费统计信息 s
        学前教育资助信息 p t:社会救助""",
    ),
    "YC-ZJ": (
        "build housing assist",
        "工程建设项目审批 建筑市场监管 住房保障资格审核 房地产市场监管",
        "《中华人民共和国建筑法》 《中华人民共和国城市房地产管理法》 《公共租赁住房管理办法》 《建设工程质量管理条例》",
        """建筑业企业资质信息 ol b
        商品房预售许可信息 ol
        建设工程施工许可证信息 ol t:营商环境
        建设工程竣工验收备案信息 o
        房屋建筑工程质量监督信息 o g:build
        公共租赁住房保障对象信息 p t:社会救助
        农村危房改造信息 p t:乡村振兴
        城镇老旧小区改造信息 g
        商品房买卖合同网签备案信息 p
        房屋租赁登记备案信息 p g:housing
        物业服务企业信息 o
        房地产开发企业资质信息 ol
        建筑施工企业安全生产许可证信息 ol t:安全生产
        住房保障资格审核信息 p
        城市燃气经营许可证信息 ol
        建筑工人实名制信息 p
        工程建设项目审批信息 or t:营商环境
        城镇污水排入排水管网许可信息 ol
        建设工程消防设计审查验收信息 o t:安全生产""",
    ),
    "YC-SW": (
        "tax credit penalty",
        "纳税人身份核验 税收征管与风险防控 纳税信用联合奖惩 “非税”与社保费征收",
        "《中华人民共和国税收征收管理法》第八条 《纳税信用管理办法》 《中华人民共和国个人信息保护法》第三十四条",
        """纳税人登记信息 o b
        欠税公告信息 o b
        重大税收违法失信案件信息 o b
        企业纳税信用等级评价信息 o b
        增值税发票领用信息 o
        纳税申报信息 o
        税款入库信息 or
        个人所得税代扣代缴信息 p n
        税务行政处罚信息 o g:penalty
        非正常户认定信息 o
        税收优惠备案信息 o t:营商环境
        契税缴纳信息 p g:tax,property
        房产税城镇土地使用税征收信息 o
        社会保险费征收信息 o g:insurance,tax
        个体工商户定期定额核定信息 op
        车辆购置税完税信息 p g:tax,vehicle
        涉税专业服务机构信息 o""",
    ),
    "YC-BDC": (
        "property land",
        "不动产权属核验 “交房即交证”与“带押过户” 抵押贷款审批 司法查控协助",
        "《不动产登记暂行条例》第二十七条 《不动产登记暂行条例实施细则》 《中华人民共和国民法典》",
        """不动产权属登记信息 pg b
        不动产单元信息 g b
        不动产登记电子证照信息 pl b
        不动产抵押登记信息 p b
        不动产查封登记信息 p n
        不动产预告登记信息 p
        不动产异议登记信息 p
        房屋所有权登记信息 p
        国有土地使用权登记信息 og b
        宅基地使用权及房屋所有权登记信息 p t:乡村振兴
        农村集体经营性建设用地使用权登记信息 og
        林权登记信息 pg
        不动产登记簿信息 p
        不动产登记申请受理信息 pr
        房地一体确权登记信息 pg t:乡村振兴
        存量房转移登记信息 p""",
    ),
    "YC-YB": (
        "insurance claim drug",
        "医疗保障待遇核定与结算 医保基金监管 医疗救助 定点机构管理",
        "《医疗保障基金使用监督管理条例》 《中华人民共和国社会保险法》 《中华人民共和国个人信息保护法》第三十四条",
        """医疗保险参保信息 p b
        城乡居民基本医疗保险参保信息 p
        职工基本医疗保险参保信息 p
        医疗保险费缴纳信息 p
        医疗保险待遇结算信息 p
        门诊慢特病认定信息 p
        医疗救助对象信息 p t:社会救助
        脱贫人口参保资助信息 p t:乡村振兴
        定点医药机构信息 o g:drug b
        医保药品目录信息 r g:drug
        医疗保障基金监管信息 or g:claim
        异地就医备案信息 p
        生育保险待遇信息 p
        大病保险赔付信息 p
        医保电子凭证激活信息 p g:insurance
        医疗服务价格信息 r g:drug""",
    ),
    "YC-NY": (
        "agri farm poverty vehicle assist",
        "乡村振兴和巩固脱贫成果 惠农补贴发放 农产品质量安全监管 农村承包地管理",
        "《中华人民共和国农村土地承包法》 《中华人民共和国乡村振兴促进法》 《中华人民共和国农产品质量安全法》 "
        "《中华人民共和国动物防疫法》",
        """农村土地承包经营权信息 pg b
        农村土地承包经营权流转信息 pg
        脱贫人口信息 p t:乡村振兴
        防返贫监测对象信息 p t:乡村振兴
        耕地地力保护补贴发放信息 p t:乡村振兴
        家庭农场名录信息 o
        农民专业合作社示范社信息 o
        农村集体经济组织信息 o b
        农作物种子经营许可证信息 ol
        农药经营许可证信息 ol
        兽药经营许可证信息 ol
        动物防疫条件合格证信息 ol
        生猪定点屠宰许可信息 ol
        农机购置补贴信息 p g:vehicle,farm
        高标准农田建设信息 g t:乡村振兴
        农产品质量安全检测信息 o t:食品安全
        动物疫病强制免疫信息 r
        拖拉机和联合收割机登记信息 p
        新型农业经营主体信息 o t:乡村振兴 g:farm""",
    ),
    "YC-JT": (
        "transport vehicle driver penalty",
        "道路运输市场监管 交通运输执法 城乡交通一体化 农村公路管理",
        "《中华人民共和国道路运输条例》 《中华人民共和国公路法》 《中华人民共和国个人信息保护法》第三十四条",
        """道路运输经营许可信息 ol b
        道路运输从业人员从业资格信息 pl g:transport
        道路运输车辆营运证信息 ol g:vehicle,transport
        巡游出租汽车经营信息 o g:transport
        网络预约出租汽车驾驶员证信息 pl
        机动车维修经营备案信息 o g:transport
        驾培机构备案信息 o
        公路超限运输许可信息 ol g:transport
        农村公路建设信息 g t:乡村振兴
        城乡公交线路信息 g b
        交通运输行政处罚信息 o
        客运站场信息 og
        危险货物道路运输许可信息 ol t:安全生产
        交通建设工程项目信息 or
        公路养护信息 g
        出租汽车驾驶员从业资格信息 pl""",
    ),
    "YC-HB": (
        "env penalty case",
        "排污许可与环境执法 生态环境质量监测 环境影响评价审批 环境信用评价",
        "《中华人民共和国环境保护法》 《排污许可管理条例》 《中华人民共和国环境影响评价法》",
        """排污许可证信息 ol b
        排污登记信息 o t:生态环境保护
        建设项目环境影响评价审批信息 or t:营商环境
        环境空气质量监测信息 g b
        地表水水质监测信息 g b
        重点排污单位信息 o t:生态环境保护
        危险废物经营许可证信息 ol
        环境行政处罚信息 o
        突发环境事件应急预案备案信息 o
        污染源自动监控信息 o t:生态环境保护
        辐射安全许可证信息 ol
        环境信访投诉信息 r n
        企业环境信用评价信息 o
        土壤污染重点监管单位信息 o
        建设项目竣工环境保护验收信息 o""",
    ),
    "YC-SF": (
        "case legal",
        "公共法律服务 矛盾纠纷多元化解 行政执法监督 法治乡村建设",
        "《中华人民共和国法律援助法》 《中华人民共和国人民调解法》 《中华人民共和国社区矫正法》 "
        "《中华人民共和国个人信息保护法》第三十四条",
        """法律援助案件信息 pr
        法律援助受援人信息 p n
        人民调解案件信息 pr t:基层治理
        人民调解员信息 p
        人民调解委员会信息 o
        社区矫正对象信息 p n
        安置帮教对象信息 p n
        律师执业信息 pl b
        律师事务所执业许可信息 ol b
        公证员执业信息 pl
        基层法律服务工作者信息 pl
        行政复议案件信息 r n
        普法宣传教育信息 r
        行政执法证件信息 pl
        村(居)法律顾问信息 p t:乡村振兴
        公共法律服务工作站信息 o b g:legal""",
    ),
    "YC-TJ": (
        "",
        "经济运行监测分析 政府决策参考 规划编制与考核评价 统计数据发布",
        "《中华人民共和国统计法》 《全国人口普查条例》 《全国经济普查条例》",
        """第七次全国人口普查汇总信息 s b
        第四次全国经济普查单位信息 o n
        国民经济主要指标信息 s b
        规模以上工业企业统计信息 s
        限额以上批发零售业统计信息 s
        固定资产投资统计信息 s
        农业生产统计信息 s
        城乡居民收支调查信息 s t:乡村振兴
        农产品价格调查信息 s
        统计名录库单位信息 o b
        劳动工资统计信息 s
        统计执法检查信息 or
        乡镇(街道)主要经济指标信息 s
        人口抽样调查信息 s
        统计调查项目审批信息 r""",
    ),
    "YC-CZ": (
        "finance assist",
        "预算编制与执行监督 惠民惠农资金监管 政府采购监管 国有资产管理",
        "《中华人民共和国预算法》 《中华人民共和国政府采购法》 《中华人民共和国会计法》",
        """财政预算信息 s b
        财政决算信息 s b
        政府采购项目信息 r t:营商环境
        政府采购供应商信息 o
        惠民惠农财政补贴资金发放信息 p t:乡村振兴
        行政事业单位国有资产信息 o
        政府债务信息 r n
        财政专项资金信息 r
        非税收入收缴信息 or
        会计专业技术资格信息 pl
        代理记账机构审批信息 ol
        预算单位账户信息 o n
        政府投资项目评审信息 or
        财政票据管理信息 o
        部门三公经费信息 s
        政府采购合同信息 r""",
    ),
    "YC-TY": (
        "veteran assist employ",
        "退役军人优抚优待 安置就业服务 褒扬纪念 帮扶援助",
        "《中华人民共和国退役军人保障法》 《军人抚恤优待条例》 《烈士褒扬条例》 "
        "《中华人民共和国个人信息保护法》第三十四条",
        """退役军人基本信息 p b
        优抚对象信息 p
        退役军人优待证信息 pl
        残疾军人伤残抚恤信息 p
        烈士褒扬信息 p
        光荣之家光荣牌悬挂信息 p
        退役士兵安置信息 p
        退役军人就业创业信息 p t:就业创业
        退役军人服务站信息 o
        自主就业退役士兵一次性经济补助信息 p t:就业创业
        带病回乡退伍军人信息 p n
        参战参试退役军人信息 p n
        退役军人帮扶援助信息 p t:社会救助
        烈士纪念设施信息 g
        军队离退休干部信息 p""",
    ),
}

AUTHORITY = {  # item code -> (department, resource-name substrings or None for all its resources)
    **dict.fromkeys(
        ["id_number", "name", "gender", "birth_date", "nation", "household_address"], ("YC-GA", ("户籍", "身份证"))
    ),
    **dict.fromkeys(
        ["credit_code", "org_name", "legal_representative", "registered_capital"], ("YC-SJ", ("企业登记",))
    ),
    "plate_no": ("YC-GA", ("机动车",)),
    "vin": ("YC-GA", ("机动车",)),
    "driving_license_no": ("YC-GA", None),
    "marriage_status": ("YC-MZ", ("婚姻登记",)),
    "marriage_cert_no": ("YC-MZ", None),
    "property_no": ("YC-BDC", None),
    "unit_no": ("YC-BDC", None),
    "insured_type": ("YC-RS", None),
    "social_security_no": ("YC-RS", None),
    "birth_cert_no": ("YC-WJ", None),
    "student_no": ("YC-JY", None),
    "teacher_cert_no": ("YC-JY", None),
    "taxpayer_id": ("YC-SW", None),
    "contract_cert_no": ("YC-NY", None),
    "discharge_permit_no": ("YC-HB", None),
    "transport_license_no": ("YC-JT", None),
}

GROUP_USE = dict(
    pairwise_words(
        "hukou 户籍业务办理和身份核验 vehicle 机动车业务办理和车辆信息核验 driver "
        "驾驶人资格核验和交通安全管理 traffic 道路交通安全管理 police 社会治安综合治理 goods "
        "危险物品和特种行业治安管理 marriage 婚姻状况核验和婚姻登记业务 adopt 收养登记业务办理 "
        "assist 救助对象资格认定和资金发放监管 socorg 社会组织和养老服务机构监管 region "
        "基层治理和地名管理 insurance 参保状态核验和社保待遇资格认证 employ 就业创业服务和政策落实 "
        "case 案件办理和矛盾纠纷化解 market 市场主体身份核验和登记业务协同 credit "
        "信用联合奖惩和事中事后监管 food 食品安全监管 drug 药品流通监管和医保支付管理 equip "
        "特种设备和计量安全监管 penalty 行政执法监督和信用惩戒 land 土地资源管理和建设项目用地审批 "
        "plan 国土空间规划编制和规划许可审批 birth 出生登记和新生儿落户办理 death 死亡注销和殡葬管理 "
        "vaccine 入学入托查验和预防接种管理 medical 医疗卫生机构和人员执业监管 health "
        "基本公共卫生服务管理 student 招生入学和学生资助精准识别 teacher 教师资格认定和队伍管理 "
        "school 学校办学管理和教育资源配置 build 工程建设项目审批和建筑市场监管 housing "
        "住房保障审核和房地产市场监管 tax 税收征管和纳税信用评价 property 不动产权属核验和登记业务协同 "
        "claim 医保待遇核定和基金监管 agri 农村承包地管理和土地流转服务 farm "
        "农业生产和农产品质量安全监管 poverty 防返贫动态监测和精准帮扶 transport 道路运输市场监管 "
        "env 生态环境监测和环境执法 legal 公共法律服务和法律职业管理 finance 预算执行和财政资金监管 "
        "veteran 退役军人优抚优待和服务保障"
    )
)
GENERIC = set(words("""coordinate_system handler record_no region_code remark stat_period stat_year updated_at"""))
SUMMARY_TEMPLATES = [
    "{dept}汇聚的伊川县各乡镇(街道){name}，包含{items}等，用于{use}。",
    "记录伊川县{name}，主要数据项有{items}，可支撑{use}。",
    "伊川县各乡镇(街道){name}，涵盖{items}等内容，供{use}使用。",
    "本资源由{dept}提供，反映伊川县{name}情况，含{items}，主要用于{use}。",
    "覆盖伊川县各乡镇(街道)的{name}，提供{items}等数据，服务于{use}。",
]
THEME_USE = "{theme}主题应用及{use}"
COND_TEMPLATES = [
    "仅向依法履行{use}职责的县直部门和乡镇(街道)共享，需说明使用事由并经{dept}审核同意",
    "按需共享：使用部门须提供办理事项名称及法定依据，批量比对须经{dept}同意",
    "仅提供核验类服务(返回比对结果)，不提供批量下载，逐条查询留痕备查",
    "须以具体业务办件为依据按条查询，查询范围限于本部门职责，结果不得用于其他用途",
]
OPEN_CONDITIONS = [
    "需在伊川县公共数据开放平台实名注册并签署数据利用协议",
    "仅开放脱敏后的汇总数据，申请者需说明用途并经审核",
    "需提交开放数据利用申请，经提供部门审核后通过平台接口获取",
]
USAGE = [
    "仅用于申请时注明的履职事项，不得转授第三方，使用后按规定销毁本地副本",
    "调用过程全程留痕，严禁超范围使用和对外提供，敏感字段须脱敏展示",
    "按最小必要原则使用，发生泄露须立即报告县政务服务和大数据管理局",
]
NONE_REASON = "涉及个人隐私或依法保密的信息，不予共享"
CYCLES = {
    "realtime": "空气质量 水质 户籍 身份证 登记注册 机动车登记 驾驶证 接种 核酸 监控 不动产权属 参保信息 结算",
    "annual": "普查 年度报告 决算 预算 统计 资质 年检 规划 调查 三公 评价 信用 经费",
    "monthly": "发放 补贴 津贴 缴纳 征收 入库 监测 指标 抚恤 补助",
}


def parse_items(spec: str) -> list[dict]:
    items = []
    for token in spec.split():
        code, name, kind, *length = token.split(":")
        item = {"code": code, "name": name, "type": kind}
        if kind == "C":
            item["length"] = int(length[0]) if length else 50
        items.append(item)
    return items


def pick(pool: list[dict], keep: int, low: int, high: int) -> list[dict]:
    rest = pool[keep:]
    extra = rng.sample(rest, min(len(rest), rng.randint(low, high)))
    return pool[:keep] + [i for i in rest if i in extra]


def build_items(dept: str, name: str, kinds: str, groups: list[str]) -> tuple[list[dict], list[dict]]:
    """Returns (all items, the items worth naming in the summary)."""
    domain: list[dict] = []
    for group in groups:
        domain += pick(parse_items(GROUPS[group][1]), 2, 1 if len(groups) > 1 else 2, 5)
    core: list[dict] = []
    for kind in kinds:
        spec, keep = KINDS[kind]
        pool = parse_items(spec)
        if dept == "YC-GA" and kind == "p" and any(w in name for w in ("户籍", "身份证")):
            keep = 6
        if dept == "YC-SJ" and kind == "o" and any(w in name for w in ("企业登记", "营业执照")):
            keep = 4
        core += pick(pool, keep, 1, 4) if kind not in "s" else pool
    items, seen = [], set()
    for item in [*core, *domain, *parse_items(UPDATED_AT)]:
        if item["code"] not in seen and len(items) < 25:
            seen.add(item["code"])
            items.append(item)
    for item in items:
        dept_and_filter = AUTHORITY.get(item["code"])
        if dept_and_filter and dept_and_filter[0] == dept:
            words = dept_and_filter[1]
            if words is None or any(w in name for w in words):
                item["authoritative"] = True
    assert 4 <= len(items) <= 25, name
    return items, [i for i in core if i["code"] not in GENERIC][:2] + domain[:3]


def summary(dept_name: str, name: str, shown: list[dict], use: str) -> str:
    names = [i["name"] for i in shown]
    template = rng.choice(SUMMARY_TEMPLATES)
    while True:
        text = template.format(dept=dept_name, name=name, items="、".join(names), use=use)
        if len(text) <= 120 or len(names) <= 2:
            break
        names.pop()
    if len(text) > 120:
        text = f"伊川县{name}，含{'、'.join(names[:2])}，用于{use}。"
    assert 30 <= len(text) <= 120, text
    return text


def cycle_for(name: str, kinds: str) -> str:
    for cycle, words in CYCLES.items():
        if any(w in name for w in words.split()):
            return cycle
    if "s" in kinds:
        return rng.choice(["quarterly", "annual"])
    return rng.choice(["daily", "daily", "weekly", "monthly", "realtime", "other"])


def build_resources() -> list[dict]:
    resources: list[dict] = []
    seq = 0
    dept_names = dict(DEPARTMENTS)
    for dept_index, (dept, (group_spec, uses, bases, table)) in enumerate(DEPT.items(), start=1):
        dept_groups, uses, bases = group_spec.split(), uses.split(), bases.split()
        for n, line in enumerate(table.splitlines(), start=1):
            name, kinds, *flags = line.split()
            opts = {f.split(":", 1)[0]: [*f.split(":", 1), ""][1] for f in flags}
            category = "base" if "b" in opts else "theme" if "t" in opts else "department"
            if "g" in opts:
                groups = opts["g"].split(",")
            else:
                groups = [g for g in dept_groups if any(w in name for w in GROUPS[g][0].split())][:2]
                groups = groups or dept_groups[:1]
            if kinds == "s":
                groups = []
            items, shown = build_items(dept, name, kinds, groups)
            personal = "p" in kinds
            use = GROUP_USE[groups[0]] if groups and (category == "theme" or rng.random() < 0.8) else rng.choice(uses)
            if category == "theme":
                use = THEME_USE.format(theme=opts["t"], use=use)
            seq += 1
            res: dict = {
                "provider_dept": dept,
                "code": f"{'123'[['base', 'theme', 'department'].index(category)]}{dept_index:02d}{n:03d}/{seq:06d}",
                "name": name,
                "summary": summary(dept_names[dept], name, shown, use),
                "category": category,
            }
            if "s" in kinds:
                res["format"] = rng.choice(["spreadsheet", "spreadsheet", "database", "api"])
            elif "g" in kinds and not personal:
                res["format"] = rng.choice(["image", "database", "api", "file"])
            elif "监控" in name or "监测" in name:
                res["format"] = "stream" if "监控" in name else "api"
            else:
                res["format"] = rng.choice(["api", "api", "api", "database", "database", "spreadsheet"])
            res["items"] = items
            if category == "base":
                sharing = "unconditional"
            elif "n" in opts:
                sharing = "none"
            elif "c" in opts or "u" in opts:
                sharing = "conditional" if "c" in opts else "unconditional"
            else:
                sharing = "conditional" if rng.random() < (0.55 if personal else 0.25) else "unconditional"
            res["sharing_type"] = sharing
            if sharing == "conditional":
                res["sharing_conditions"] = rng.choice(COND_TEMPLATES).format(
                    use=rng.choice(uses), dept=dept_names[dept]
                )
            if sharing != "unconditional":
                res["legal_basis"] = rng.choice(bases) + ("" if sharing == "conditional" else f"；{NONE_REASON}")
            method = "file" if res["format"] in ("spreadsheet", "file") else "database" if rng.random() < 0.08 else None
            res["sharing_method"] = method or "platform_api"
            if sharing == "none" or personal:
                res["open_type"] = "closed"
            else:
                res["open_type"] = rng.choice(["open", "open", "conditional_open", "closed"])
            if res["open_type"] == "conditional_open":
                res["open_conditions"] = rng.choice(OPEN_CONDITIONS)
            if personal:
                level = "4" if sharing == "none" else rng.choice(["3", "3", "4"])
            elif sharing == "none":
                level = "3"
            elif res["open_type"] == "open":
                level = "1"
            else:
                level = rng.choice(["2", "2", "3"] if sharing == "conditional" else ["1", "2"])
            res["security_level"] = level
            res["update_cycle"] = cycle_for(name, kinds)
            if sharing == "conditional" or level in ("3", "4"):
                res["usage_requirements"] = rng.choice(USAGE)
            res["interface"] = {
                "base_url": f"http://127.0.0.1:8900/{dept.lower()}/{n}",
                "methods": ["GET"],
                "path_prefixes": ["/records", "/query"],
            }
            resources.append(res)
    return resources


SYNONYMS = {
    "社保": ("社会保险", "社保"),
    "医保": ("医疗保险", "医保"),
    "低保": ("最低生活保障", "低保"),
    "户口": ("户籍", "户口"),
    "车辆": ("车辆", "机动车"),
    "营业执照": ("企业登记", "营业执照"),
}
NAME_QUERIES = [
    *words(
        "人口 户籍 户口 社保 医保 低保 婚姻 车辆 驾驶证 企业 个体工商户 营业执照 不动产 土地 出生 死亡 "
        "学籍 教师 纳税 欠税 许可证 排污 法律援助 调解 退役军人 优抚 预防接种 住房 公积金 食品 药品 疫苗 "
        "补贴 救助 合作社 行政处罚 规划 脱贫 监测 农村"
    ),
    "不动产 登记",
    "企业 信用",
    "食品 许可",
    "养老 保险",
    "道路 运输",
    "医疗保险 参保",
    "许可证 企业",
]
ITEM_QUERIES = {"统一社会信用代码": "credit_code", "号牌号码": "plate_no", "不动产权证号": "property_no"}


def most_specific(matches: list[dict]) -> list[str]:
    return [r["code"] for r in sorted(matches, key=lambda r: (len(r["name"]), r["code"]))[:10]]


def build_queries(resources: list[dict]) -> list[dict]:
    queries = []
    for q in NAME_QUERIES:
        words = [SYNONYMS.get(w, (w,)) for w in q.split()]
        matches = [r for r in resources if all(any(s in r["name"] for s in alts) for alts in words)]
        if matches:
            queries.append({"q": q, "expected": most_specific(matches)})
    for q, code in ITEM_QUERIES.items():
        matches = [r for r in resources if any(i["code"] == code and i["name"] == q for i in r["items"])]
        if matches:
            queries.append({"q": q, "expected": most_specific(matches)})
    return queries


def main() -> None:
    resources = build_resources()
    claims: dict[str, set[str]] = {}
    for res in resources:
        for item in res["items"]:
            if item.get("authoritative"):
                claims.setdefault(item["code"], set()).add(res["provider_dept"])
    assert all(len(d) == 1 for d in claims.values()), claims
    names = [r["name"] for r in resources]
    assert len(set(names)) == len(names), "resource names must be distinct"
    assert len({r["code"] for r in resources}) == len(resources)
    catalog = {
        "departments": [{"code": c, "name": n} for c, n in DEPARTMENTS],
        "resources": resources,
        "queries": build_queries(resources),
    }
    with OUT.open("w", encoding="utf-8") as fh:
        json.dump(catalog, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    print(f"wrote {OUT.name}: {len(resources)} resources, {len(catalog['queries'])} queries")


if __name__ == "__main__":
    main()
