from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Team(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


class Role(models.TextChoices):
    MARKETER = "marketer", "Marketer"
    SALES_REP = "sales_rep", "Sales rep"
    MANAGER = "manager", "Manager"
    INTEGRATION = "integration", "Integration"


ROLE_TEAM: dict[str, str | None] = {
    Role.MARKETER: Team.MARKETING,
    Role.SALES_REP: Team.SALES,
    Role.INTEGRATION: Team.MARKETING,  # integrations post leads on marketing's behalf
    Role.MANAGER: None,  # managers may belong to a team but are not bound by one
}


class User(AbstractUser):
    """A person (or an integration's service account) with one role in one team."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MARKETER)
    team = models.CharField(max_length=20, choices=Team.choices, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="user_role_valid", condition=models.Q(role__in=Role.values)
            ),
            models.CheckConstraint(
                name="user_team_valid", condition=models.Q(team__in=[*Team.values, ""])
            ),
            models.CheckConstraint(
                name="user_team_follows_role",
                condition=models.Q(role=Role.MANAGER)
                | models.Q(role=Role.MARKETER, team=Team.MARKETING)
                | models.Q(role=Role.INTEGRATION, team=Team.MARKETING)
                | models.Q(role=Role.SALES_REP, team=Team.SALES),
            ),
        ]

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_marketer(self) -> bool:
        return self.role == Role.MARKETER

    @property
    def is_sales_rep(self) -> bool:
        return self.role == Role.SALES_REP

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
