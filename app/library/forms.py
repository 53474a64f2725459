from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

import workflows as wf
from workflows import kpi as wk

from ..permissions import ROLE_LABELS


class CopyForm(FlaskForm):
    source = HiddenField()
    name = StringField("Name of your copy", validators=[DataRequired("Give your copy a name."), Length(max=200)],
                       description="Your team picks it by this name when they start a client.")


class DaysField(IntegerField):
    """An integer field whose message for non-numbers speaks the consultant's language."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter the duration as a whole number of days.") from None


class TaskForm(FlaskForm):
    class Meta:
        # CSRFProtect checks every POST app-wide and the page renders the token field itself; a per-form token
        # would be named "new-csrf_token" in the prefixed add form.
        csrf = False

    title = StringField("Task", validators=[DataRequired("Give the task a title."), Length(max=300)])
    guidance = TextAreaField("Guidance for the client", validators=[Length(max=5000)],
                             description="What to do and what counts as evidence, in the client's words.")
    clauses = StringField("ISO clauses", validators=[Length(max=200)],
                          description="Clause numbers the task serves, separated by commas, e.g. 6.1, 8.5.1")
    role = SelectField("Usually done by", choices=[SelectChoice(r, ROLE_LABELS.get(r, r)) for r in wf.ROLES])
    duration_days = DaysField("Duration (days)", validators=[
        InputRequired("Enter the duration in days."), NumberRange(1, 365, "Enter a duration of 1 to 365 days.")],
        description="Only sets the task's share of its stage when a client's plan is made.")
    required = BooleanField("Required to pass the stage gate")

    @classmethod
    def for_task(cls, task: wf.TaskTemplate, **kw):
        return cls(data={"title": task.title, "guidance": task.guidance, "clauses": ", ".join(task.clauses),
                         "role": task.role, "duration_days": task.duration_days, "required": task.required}, **kw)

    def read(self, template: wf.Template) -> dict | None:
        """The submitted values as template fields, or None with every problem on its field
        (clause numbers are checked even when another field is wrong, so all messages show at once)."""
        valid = self.validate()
        try:
            clauses = list(wf.parse_clause_refs(self.clauses.data, template))
        except wf.TemplateError as err:
            self.clauses.errors = [*self.clauses.errors, str(err)]
            return None
        if not valid:
            return None
        return {
            "title": self.title.data.strip(),
            "guidance": (self.guidance.data or "").strip(),
            "clauses": clauses,
            "role": self.role.data,
            "duration_days": self.duration_days.data,
            "required": bool(self.required.data),
        }


class NewTaskForm(TaskForm):
    stage = HiddenField()
    key = StringField("Reference (optional)", validators=[
        Optional(), Length(max=60),
        Regexp(r"^[a-z0-9][a-z0-9_.-]*$", message="Use lowercase letters, digits, “_”, “.” or “-” only.")],
        description="A short id that stays the same across versions. Leave empty to make one from the title.")


class KpiDefinitionForm(FlaskForm):
    """A definition of the consultancy's KPI library. Only holds and renders what was typed: every check is
    `workflows.kpi.definition_from_form`'s, the rules the standard library itself passes."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST app-wide; the page renders the token itself

    name = StringField("Name", description="As clients and consultants see it, e.g. “Invoices sent within 5 days”.")
    area = SelectField("Area", choices=[SelectChoice(a, wk.AREA_LABELS[a]) for a in wk.AREAS])
    numerator = StringField("What is counted (numerator)")
    denominator = StringField("Out of (denominator)", description="Leave empty for a plain count, time or score.")
    unit = StringField("Unit", description="%, days, count, score …")
    direction = SelectField("Direction", choices=[SelectChoice(d, wk.DIRECTION_LABELS[d]) for d in wk.DIRECTIONS])
    frequency = SelectField("Measured", choices=[SelectChoice(f, wk.FREQUENCY_LABELS[f]) for f in wk.FREQUENCIES])
    target = StringField("Suggested target", render_kw={"inputmode": "decimal"})
    amber = StringField("At risk beyond", render_kw={"inputmode": "decimal"}, description="Amber threshold")
    red = StringField("Off track beyond", render_kw={"inputmode": "decimal"}, description="Red threshold")
    minimum = StringField("Lowest possible value", render_kw={"inputmode": "decimal"},
                          description="Optional, e.g. 0 for a percentage.")
    maximum = StringField("Highest possible value", render_kw={"inputmode": "decimal"},
                          description="Optional, e.g. 100 for a percentage.")
    clauses = StringField("ISO clauses", description="Clause numbers the KPI serves, separated by commas, "
                                                     "e.g. 9.1.2, 8.2.1")
    note = TextAreaField("Note for consultants", render_kw={"rows": 3},
                         description="Shown beside the KPI when a client picks it: how to set its target, "
                                     "what to watch for.")

    @classmethod
    def for_definition(cls, definition: wk.KpiDefinition, **kw):
        return cls(formdata=None, data=wk.form_values(definition), **kw)

    def read(self, key: str, clauses, *, never_zero_target: bool = False, taken_names=()) -> wk.KpiDefinition | None:
        """The definition typed, or None with each problem on its field."""
        definition, errors = wk.definition_from_form({name: self[name].data for name in wk.FORM_FIELDS}, key,
                                                     clauses, never_zero_target=never_zero_target,
                                                     taken_names=taken_names)
        for name, messages in errors.items():
            target = self[name] if name in wk.FORM_FIELDS else self.name
            target.errors = [*target.errors, *messages]
        return definition
