"""Extension objects, created unbound and initialised in the app factory."""
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

# Models derive from tenants.base (SharedModel / TenantModel), not db.Model; db gives the session.
db = SQLAlchemy()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
