from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..security import MIN_PASSWORD_LENGTH, PASSWORD_RULES


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()


class SignupForm(FlaskForm):
    consultancy = StringField("Consultancy name", validators=[DataRequired("Enter your consultancy's name."), Length(max=200)])
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=200)])
    email = EmailField("Work email", validators=[DataRequired("Enter your email address."), Email("Enter a valid email address.")])
    password = PasswordField("Password", description=PASSWORD_RULES, validators=[DataRequired("Choose a password."),
                                                     Length(min=MIN_PASSWORD_LENGTH, message=f"Use at least {MIN_PASSWORD_LENGTH} characters.")])


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Email("Enter a valid email address.")])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", description=PASSWORD_RULES, validators=[DataRequired("Choose a password."),
                                                         Length(min=MIN_PASSWORD_LENGTH, message=f"Use at least {MIN_PASSWORD_LENGTH} characters.")])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The two passwords differ.")])


class AcceptInvitationForm(NewPasswordForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=200)])


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter an email address."), Email("Enter a valid email address.")])
    role = SelectField("Role", choices=[])
