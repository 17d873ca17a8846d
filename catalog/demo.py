"""Demo catalog: the reference items and products later work uses (idempotent).

Prices elsewhere (procurement/demo.py) follow the published figures in DESIGN.md: the
ambroxol, duloxetine and voriconazole ceiling pairs, clopidogrel 108.29 -> 17.81 yuan a
box, the coronary stent's ~13,000 yuan before the national round and its 2,850 ceiling.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TextIO

from accounts.demo import organization_for
from catalog.models import BiddingUnit, FormGroup, Product, ProductKind
from catalog.services import item_upsert, product_register, specification_upsert

D = Decimal

# code, name, name_en, generic, form group, unit, unit_en, specs:
# (spec code, label, dosage form, strength mg, fill ml, pack, representative)
SpecRow = tuple[str, str, str, Decimal, Decimal | None, int, bool]
DRUG_ITEMS: list[tuple[str, str, str, str, str, str, str, list[SpecRow]]] = [
    (
        "D-ATV-OS",
        "阿托伐他汀钙片",
        "Atorvastatin calcium tablets",
        "阿托伐他汀",
        FormGroup.ORAL_SOLID,
        "片",
        "tablet",
        [
            ("10MG", "10mg", "片剂", D(10), None, 7, False),
            ("20MG", "20mg", "片剂", D(20), None, 7, True),
            ("40MG", "40mg", "片剂", D(40), None, 7, False),
        ],
    ),
    (
        "D-CLO-OS",
        "硫酸氢氯吡格雷片",
        "Clopidogrel bisulfate tablets",
        "氯吡格雷",
        FormGroup.ORAL_SOLID,
        "片",
        "tablet",
        [("75MG", "75mg", "片剂", D(75), None, 7, True)],
    ),
    (
        "D-AMB-INJ",
        "盐酸氨溴索注射液",
        "Ambroxol hydrochloride injection",
        "氨溴索",
        FormGroup.INJECTION,
        "支",
        "ampoule",
        [
            ("2ML15MG", "2ml:15mg", "注射液", D(15), D(2), 1, True),
            ("4ML30MG", "4ml:30mg", "注射液", D(30), D(4), 1, False),
        ],
    ),
    (
        "D-DLX-OS",
        "度洛西汀肠溶胶囊",
        "Duloxetine enteric capsules",
        "度洛西汀",
        FormGroup.ORAL_SOLID,
        "粒",
        "capsule",
        [
            ("20MG", "20mg", "肠溶胶囊", D(20), None, 14, True),
            ("60MG", "60mg", "肠溶胶囊", D(60), None, 14, False),
        ],
    ),
    (
        "D-VRC-INJ",
        "注射用伏立康唑",
        "Voriconazole for injection",
        "伏立康唑",
        FormGroup.INJECTION,
        "瓶",
        "vial",
        [
            ("50MG", "50mg", "注射用无菌粉末", D(50), None, 1, True),
            ("200MG", "200mg", "注射用无菌粉末", D(200), None, 1, False),
        ],
    ),
    (
        "D-AML-OS",
        "苯磺酸氨氯地平片",
        "Amlodipine besylate tablets",
        "氨氯地平",
        FormGroup.ORAL_SOLID,
        "片",
        "tablet",
        [("5MG", "5mg", "片剂", D(5), None, 28, True)],
    ),
]

CONSUMABLE_ITEMS = [
    (
        "C-STENT",
        "冠脉药物洗脱支架",
        "Coronary drug-eluting stent",
        BiddingUnit.CORONARY_STENT,
        "个",
        "piece",
    ),
    (
        "C-HIP-CC",
        "髋关节（陶瓷-陶瓷）",
        "Hip system, ceramic-on-ceramic",
        BiddingUnit.HIP_CERAMIC_CERAMIC,
        "套",
        "set",
    ),
    (
        "C-IOL-MH",
        "人工晶体（单焦点疏水）",
        "Intraocular lens, monofocal hydrophobic",
        BiddingUnit.IOL_MONOFOCAL_HYDROPHOBIC,
        "片",
        "lens",
    ),
]

# manufacturer username, item code, spec code, name, name_en, approval number, originator, evaluated
DRUG_PRODUCTS = [
    (
        "maker08",
        "D-ATV-OS",
        "20MG",
        "立普妥",
        "Lipitor (originator)",
        "国药准字J20170001",
        True,
        False,
    ),
    (
        "maker01",
        "D-ATV-OS",
        "20MG",
        "阿托伐他汀钙片（齐安）",
        "Atorvastatin (Qi'an)",
        "国药准字H20193001",
        False,
        True,
    ),
    (
        "maker02",
        "D-ATV-OS",
        "10MG",
        "阿托伐他汀钙片（正元）",
        "Atorvastatin (Zhengyuan)",
        "国药准字H20193002",
        False,
        True,
    ),
    (
        "maker03",
        "D-ATV-OS",
        "40MG",
        "阿托伐他汀钙片（石泉）",
        "Atorvastatin (Shiquan)",
        "国药准字H20193003",
        False,
        True,
    ),
    (
        "maker04",
        "D-ATV-OS",
        "20MG",
        "阿托伐他汀钙片（扬帆）",
        "Atorvastatin (Yangfan)",
        "国药准字H20193004",
        False,
        False,
    ),
    (
        "maker08",
        "D-CLO-OS",
        "75MG",
        "波立维",
        "Plavix (originator)",
        "国药准字J20170002",
        True,
        False,
    ),
    (
        "maker05",
        "D-CLO-OS",
        "75MG",
        "硫酸氢氯吡格雷片（华瑞）",
        "Clopidogrel (Huarui)",
        "国药准字H20193005",
        False,
        True,
    ),
    (
        "maker06",
        "D-CLO-OS",
        "75MG",
        "硫酸氢氯吡格雷片（京信）",
        "Clopidogrel (Jingxin)",
        "国药准字H20193006",
        False,
        True,
    ),
    (
        "maker07",
        "D-CLO-OS",
        "75MG",
        "硫酸氢氯吡格雷片（信和）",
        "Clopidogrel (Xinhe)",
        "国药准字H20193007",
        False,
        True,
    ),
    (
        "maker01",
        "D-AMB-INJ",
        "2ML15MG",
        "盐酸氨溴索注射液（齐安）",
        "Ambroxol injection (Qi'an)",
        "国药准字H20193008",
        False,
        True,
    ),
    (
        "maker03",
        "D-AMB-INJ",
        "4ML30MG",
        "盐酸氨溴索注射液（石泉）",
        "Ambroxol injection (Shiquan)",
        "国药准字H20193009",
        False,
        True,
    ),
    (
        "maker08",
        "D-DLX-OS",
        "60MG",
        "欣百达",
        "Cymbalta (originator)",
        "国药准字J20170003",
        True,
        False,
    ),
    (
        "maker06",
        "D-DLX-OS",
        "20MG",
        "度洛西汀肠溶胶囊（京信）",
        "Duloxetine (Jingxin)",
        "国药准字H20193010",
        False,
        True,
    ),
    (
        "maker08",
        "D-VRC-INJ",
        "200MG",
        "威凡",
        "Vfend (originator)",
        "国药准字J20170004",
        True,
        False,
    ),
    (
        "maker02",
        "D-VRC-INJ",
        "50MG",
        "注射用伏立康唑（正元）",
        "Voriconazole (Zhengyuan)",
        "国药准字H20193011",
        False,
        True,
    ),
    (
        "maker05",
        "D-AML-OS",
        "5MG",
        "苯磺酸氨氯地平片（华瑞）",
        "Amlodipine (Huarui)",
        "国药准字H20193012",
        False,
        True,
    ),
    (
        "maker07",
        "D-AML-OS",
        "5MG",
        "苯磺酸氨氯地平片（信和）",
        "Amlodipine (Xinhe)",
        "国药准字H20193013",
        False,
        True,
    ),
]

# manufacturer username, item code, name, name_en, registration number, model
CONSUMABLE_PRODUCTS = [
    (
        "maker09",
        "C-STENT",
        "乐心雷帕霉素洗脱支架",
        "Lexin sirolimus-eluting stent",
        "国械注准20173130001",
        "LX-3.0x18",
    ),
    (
        "maker10",
        "C-STENT",
        "微准依维莫司洗脱支架",
        "Weizhun everolimus-eluting stent",
        "国械注准20173130002",
        "WZ-3.0x18",
    ),
    (
        "maker11",
        "C-HIP-CC",
        "威骨陶瓷髋关节系统",
        "Weigu ceramic hip system",
        "国械注准20173130003",
        "WG-CC-52",
    ),
    (
        "maker12",
        "C-IOL-MH",
        "明视疏水单焦点人工晶体",
        "Mingshi hydrophobic monofocal IOL",
        "国械注准20173160004",
        "MS-H1",
    ),
]


def load(*, stdout: TextIO) -> None:
    items = {}
    specs = {}
    for code, name, name_en, generic, group, unit, unit_en, spec_rows in DRUG_ITEMS:
        item, _ = item_upsert(
            code=code,
            kind=ProductKind.DRUG,
            name=name,
            name_en=name_en,
            generic_name=generic,
            form_group=group,
            unit_of_count=unit,
            unit_of_count_en=unit_en,
        )
        items[code] = item
        for spec_code, label, form, strength, fill, pack, representative in spec_rows:
            specs[(code, spec_code)], _ = specification_upsert(
                item=item,
                code=spec_code,
                label=f"{label}×{pack}{unit}" if pack > 1 else label,
                dosage_form=form,
                strength_value=strength,
                strength_unit="mg",
                fill_volume_ml=fill,
                pack_count=pack,
                is_representative=representative,
            )
    for code, name, name_en, unit_kind, unit, unit_en in CONSUMABLE_ITEMS:
        item, _ = item_upsert(
            code=code,
            kind=ProductKind.CONSUMABLE,
            name=name,
            name_en=name_en,
            bidding_unit=unit_kind,
            unit_of_count=unit,
            unit_of_count_en=unit_en,
        )
        items[code] = item
        specs[(code, "UNIT")], _ = specification_upsert(
            item=item, code="UNIT", label=name, is_representative=True
        )
    for (
        maker,
        item_code,
        spec_code,
        name,
        name_en,
        approval,
        originator,
        evaluated,
    ) in DRUG_PRODUCTS:
        product_register(
            manufacturer=organization_for(maker),
            specification=specs[(item_code, spec_code)],
            name=name,
            name_en=name_en,
            approval_number=approval,
            dosage_form=specs[(item_code, spec_code)].dosage_form,
            is_originator=originator,
            is_consistency_evaluated=evaluated,
        )
    for maker, item_code, name, name_en, registration, model in CONSUMABLE_PRODUCTS:
        product_register(
            manufacturer=organization_for(maker),
            specification=specs[(item_code, "UNIT")],
            name=name,
            name_en=name_en,
            registration_number=registration,
            model_number=model,
        )
    stdout.write(f"catalog: {len(items)} items, {Product.objects.count()} products\n")
