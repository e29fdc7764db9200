"""CheckCellMetadataOnce: nbgrader's metadata check, its schema compiled once."""

import copy

import nbformat
import pytest
from conftest import ROOT
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import SchemaMismatchError
from nbgrader.preprocessors import CheckCellMetadata, Execute, SaveAutoGrades
from traitlets.config.loader import PyFileConfigLoader

from rnn_solutions.engine.execute import JudgedExecute
from rnn_solutions.engine.metadata import CheckCellMetadataOnce, FastMetadataValidator
from rnn_solutions.engine.sanitize import SanitizeSubmission
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, NOTEBOOK

INVALID = (ValidationError, SchemaMismatchError)  # what nbgrader raises for bad metadata
SOURCE = nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)


def _graded(nb, grade_id="test_rnn_forward_values"):
    """The metadata of one graded cell of nb."""
    return next(c.metadata.nbgrader for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _points_as_text(meta):
    meta["points"] = "three"


def _no_grade_id(meta):
    del meta["grade_id"]


def _old_schema(meta):
    meta["schema_version"] = 2


def _new_schema(meta):
    meta["schema_version"] = 4


def _solution_as_text(meta):
    meta["solution"] = "yes"


def _no_points(meta):
    del meta["points"]


def _duplicate_id(meta):
    meta["grade_id"] = "test_rnn_forward_structure"


CORRUPTIONS = [_points_as_text, _no_grade_id, _old_schema, _new_schema, _solution_as_text,
               _no_points, _duplicate_id]


@pytest.mark.parametrize("folder", ["source", "release"])
def test_the_course_notebooks_pass_both_validators(folder):
    """The master and release notebooks are valid for nbgrader's validator and ours."""
    nb = nbformat.read(ROOT / folder / ASSIGNMENT / NOTEBOOK, as_version=4)
    MetadataValidator().validate_nb(nb)
    FastMetadataValidator().validate_nb(nb)


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_corrupted_metadata_is_rejected_with_nbgraders_error(corrupt):
    """Each corruption fails both validators, with the same error type and message."""
    nb = copy.deepcopy(SOURCE)
    corrupt(_graded(nb))
    with pytest.raises(INVALID) as theirs:
        MetadataValidator().validate_nb(copy.deepcopy(nb))
    with pytest.raises(INVALID) as ours:
        FastMetadataValidator().validate_nb(nb)
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_the_preprocessor_rejects_a_corrupted_notebook_as_nbgraders_does():
    """CheckCellMetadataOnce raises nbgrader's message where CheckCellMetadata does."""
    nb = copy.deepcopy(SOURCE)
    _points_as_text(_graded(nb))
    with pytest.raises(ValidationError) as theirs:
        CheckCellMetadata().preprocess(copy.deepcopy(nb), {})
    with pytest.raises(ValidationError) as ours:
        CheckCellMetadataOnce().preprocess(nb, {})
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("chain", ["sanitize_preprocessors", "autograde_preprocessors"])
def test_the_course_config_is_nbgraders_default_but_for_two_substitutions(chain):
    """nbgrader_config.py keeps nbgrader's preprocessors, in order, swapping only two, and
    cleans the autograded notebook (SanitizeSubmission) just before its grades are saved."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    ours = list(config.Autograde[chain])
    swap = {CheckCellMetadata: [CheckCellMetadataOnce], Execute: [JudgedExecute],
            SaveAutoGrades: [SanitizeSubmission, SaveAutoGrades]}
    default = [q for p in Autograde.class_traits()[chain].default() for q in swap.get(p, [p])]
    assert ours == default


def test_feedback_and_the_formgrader_clean_the_notebook_they_render():
    """generate_feedback runs SanitizeSubmission, then nbgrader's preprocessors (GetGrades
    adds the gradebook's scores and comments to a clean notebook); the formgrader's page
    exporter (an HTMLExporter made from the course's config) runs it."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert list(config.GenerateFeedback.preprocessors) == [
        SanitizeSubmission, *GenerateFeedback.class_traits()["preprocessors"].default()]
    assert list(config.HTMLExporter.preprocessors) == [SanitizeSubmission]
