import pytest


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    """Each test writes its encrypted documents to its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
