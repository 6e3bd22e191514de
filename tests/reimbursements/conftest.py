"""Fixtures of the reimbursement tests."""

import pytest

from reimbursements.tariffs import load_reference_data


@pytest.fixture
def reference_tariffs(db):
    """The reference tariffs of the data migration.

    Loaded again (idempotently) because a transactional test elsewhere in the
    session may have flushed the rows the migration created.
    """
    return load_reference_data()
