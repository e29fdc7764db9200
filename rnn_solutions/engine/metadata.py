"""nbgrader's CheckCellMetadata preprocessor, with its schema compiled once.

nbgrader validates each cell's metadata with `jsonschema.validate`, which first checks
nbgrader's schema itself against the JSON Schema metaschema: for every cell, twice per
autograded notebook, about a tenth of a second of the grader's own time per submission.
Here the schema is checked once and its validator reused; the cells are validated as
nbgrader validates them (same schema, same version checks, same rules, same errors).
"""

import traceback

import jsonschema
from nbgrader.nbgraderformat import (
    MetadataValidator,
    SchemaTooNewError,
    SchemaTooOldError,
    ValidationError,
)
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata

_COMPILED = {}  # schema version -> jsonschema validator, its schema already checked


class _SchemaCheckedOnce(BaseMetadataValidator):
    """BaseMetadataValidator.validate_cell, reusing one compiled schema validator."""

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        meta = cell.metadata["nbgrader"]
        version = meta.get("schema_version", 0)
        if version < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {version} (expected "
                                    f"{self.schema_version})", version, self.schema_version)
        if version > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {version} (expected "
                                    f"{self.schema_version})", version, self.schema_version)
        if self.schema_version not in _COMPILED:
            kind = jsonschema.validators.validator_for(self.schema)
            kind.check_schema(self.schema)
            _COMPILED[self.schema_version] = kind(self.schema)
        # the error jsonschema.validate would raise
        error = jsonschema.exceptions.best_match(_COMPILED[self.schema_version].iter_errors(meta))
        if error is not None:
            raise error


class FastMetadataValidator(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's current MetadataValidator: its own rules, then the schema, checked once."""


class CheckCellMetadataOnce(CheckCellMetadata):
    """CheckCellMetadata (grade ids unique, metadata valid), with FastMetadataValidator."""

    def preprocess(self, nb, resources):
        try:
            FastMetadataValidator().validate_nb(nb)
        except ValidationError as error:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from error
        return nb, resources
