"""The award optimiser: a pure package (no Django) with a documented JSON format.

Public API::

    from procurement.optimiser import problem_from_dict, solve, result_to_dict, ProblemError
    result = solve(problem_from_dict(document))
    result_to_dict(result)
"""

from procurement.optimiser.io import (
    ProblemError,
    problem_from_dict,
    problem_to_dict,
    result_to_dict,
)
from procurement.optimiser.model import Problem, Result
from procurement.optimiser.presets import PRESETS, validate_rule_set
from procurement.optimiser.solve import solve

__all__ = [
    "PRESETS",
    "Problem",
    "ProblemError",
    "Result",
    "problem_from_dict",
    "problem_to_dict",
    "result_to_dict",
    "solve",
    "validate_rule_set",
]
