"""ISOpath web application.

The factory lives in `app.factory` and is imported on first call: operator
commands (`flask db …`, `flask tenants …`) need only `app.config` and a
database connection, and at 2,000 client schemas a no-op upgrade must not
spend its second loading the web stack.
"""


def create_app(config=None):
    from .factory import create_app as build

    return build(config)
