from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional


class NewClientForm(FlaskForm):
    name = StringField("Company name", validators=[DataRequired("Enter the client's company name."), Length(max=200)])
    slug = StringField("Address", validators=[Optional(), Length(max=50)],
                       description="Used in links: /c/<address>. Leave empty to derive it from the name.")
    # Choices are the standard templates and the consultancy's own copies, checked in the view.
    template = SelectField("Implementation template", choices=[], validate_choice=False,
                           description="The client starts on the latest version and stays on it until you apply a newer one.")
    start_on = DateField("Start date", validators=[Optional()], description="The kick-off meeting: the plan starts here.")
    target_on = DateField("Target certification date", validators=[Optional()],
                          description="When the certification audit should be done; the five stages are planned in between.")
    consultants = SelectMultipleField("Assigned consultants", coerce=int, choices=[],
                                      description="They see this client in their portfolio. Ctrl-click (⌘-click on a Mac) to choose several.")
