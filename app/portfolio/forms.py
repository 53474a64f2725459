from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional


class NewClientForm(FlaskForm):
    name = StringField("Company name", validators=[DataRequired("Enter the client's company name."), Length(max=200)])
    slug = StringField("Address", validators=[Optional(), Length(max=50)],
                       description="Used in links: /c/<address>. Leave empty to derive it from the name.")
    consultants = SelectMultipleField("Assigned consultants", coerce=int, choices=[])
