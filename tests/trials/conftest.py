"""The trial tests run every registered world, the test-only outside world ``pointmass`` included."""
from tests.worlds import conftest as _worlds_site  # noqa: F401  (puts the outside world's site on sys.path)
