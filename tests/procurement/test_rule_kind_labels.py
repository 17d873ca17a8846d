"""The Django face of the rule-kind registry: RuleSet.kind's choices, the kinds' labels in
both languages, and the round kinds the registry names."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.utils import translation

from procurement.models import Round, RuleSet
from procurement.optimiser.kinds import KIND_NAMES, RULE_KINDS, RoundKind
from procurement.rule_labels import RuleKind, rule_kind_choices, rule_kind_label

# The Chinese labels as they were before the registry: the message ids did not change.
CHINESE = {
    "national_drug": "国家组织药品集采规则（第二至九批）",
    "national_drug_batch10": "国家组织药品集采规则（第十批）",
    "national_drug_anchor": "国家组织药品集采锚点价规则（第十一批）",
    "consumables_groups": "医用耗材 A/B 分组规则",
}


def test_the_registry_round_kinds_are_the_rounds_kinds() -> None:
    assert {k.value for k in RoundKind} == set(Round.Kind.values)


def test_rule_set_kind_choices_are_the_registry_in_its_order() -> None:
    field = RuleSet._meta.get_field("kind")
    assert [value for value, _ in field.choices] == list(KIND_NAMES)
    assert RuleKind.values == list(KIND_NAMES)
    # A callable in the migration state: a new kind changes no migration.
    assert field.deconstruct()[3]["choices"] is rule_kind_choices


def test_a_rule_set_of_an_unknown_kind_does_not_validate() -> None:
    field = RuleSet._meta.get_field("kind")
    assert field.clean("renewal", None) == "renewal"
    with pytest.raises(ValidationError) as caught:
        field.clean("lottery", None)
    assert caught.value.messages == ["Value 'lottery' is not a valid choice."]


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_every_kind_has_its_english_label_and_a_chinese_translation(kind: str) -> None:
    english = RULE_KINDS[kind].label
    with translation.override("en"):
        assert rule_kind_label(kind) == english
    with translation.override("zh-hans"):
        chinese = rule_kind_label(kind)
    assert chinese != english
    assert chinese == CHINESE.get(kind, chinese)


def test_the_template_filter_and_the_model_display_translate_a_stored_kind() -> None:
    template = Template("{% load rule_set_labels %}{{ kind|rule_kind }}|{{ other|rule_kind }}")
    context = Context({"kind": "national_drug_anchor", "other": "lottery"})
    rule_set = RuleSet(name="x", kind="national_drug_anchor", parameters={})
    with translation.override("zh-hans"):
        assert template.render(context) == "国家组织药品集采锚点价规则（第十一批）|lottery"
        assert rule_set.get_kind_display() == "国家组织药品集采锚点价规则（第十一批）"
    with translation.override("en"):
        assert template.render(context) == (
            "National drug rule with anchor price (batch 11)|lottery"
        )
