"""Writes of the agency registration, one module per part of it:

- transitions: the registration state machine (one guarded function driven by a transition table)
  and the regulators' review decisions;
- registration: registering, the organization's details, the draft's step, licence files;
- offers: the catalogue items offered, with fee quotes;
- qualifications: certificates and the warning before one expires;
- practitioners: the agency's named professionals;
- staff: invitations, roles and removal of the people who act for the agency;
- publicity: objections during publicity and the activation once it ends.

Each function is keyword-only, runs in one transaction and writes its audit event. The official
calendar regulators keep is market.calendar.services.
"""

from .editing import CERTIFICATE_EDITABLE_STATUSES, EDITABLE_STATUSES
from .offers import agency_item_remove, agency_item_set
from .practitioners import practitioner_add, practitioner_remove
from .publicity import OBJECTION_OUTCOMES, agency_publicity_end_due, objection_lodge, objection_rule
from .qualifications import qualification_add, qualification_expiry_warn, qualification_remove
from .registration import (AGENCY_PROFILE_FIELDS, ORG_PROFILE_FIELDS, REGISTRATION_STEPS, agency_draft_step_set,
                           agency_register, agency_update_profile, licence_file_add, licence_file_remove)
from .staff import (INVITATION_MAX_AGE, INVITATION_SALT, invitation_accept, invitation_create, invitation_from_token,
                    invitation_revoke, invitation_token, staff_remove, staff_role_set)
from .transitions import (ADMIN, AUDIT_FIELDS, MEMBER, REGULATOR, REVIEW_DECISIONS, SYSTEM, TRANSITIONS, Move,
                          agency_review, agency_transition, allowed_moves)

__all__ = [
    "ADMIN", "AGENCY_PROFILE_FIELDS", "AUDIT_FIELDS", "CERTIFICATE_EDITABLE_STATUSES", "EDITABLE_STATUSES",
    "INVITATION_MAX_AGE", "INVITATION_SALT", "MEMBER", "OBJECTION_OUTCOMES", "ORG_PROFILE_FIELDS", "REGISTRATION_STEPS",
    "REGULATOR", "REVIEW_DECISIONS", "SYSTEM", "TRANSITIONS", "Move",
    "agency_draft_step_set", "agency_item_remove", "agency_item_set", "agency_publicity_end_due", "agency_register",
    "agency_review", "agency_transition", "agency_update_profile", "allowed_moves", "invitation_accept",
    "invitation_create", "invitation_from_token", "invitation_revoke", "invitation_token", "licence_file_add",
    "licence_file_remove", "objection_lodge", "objection_rule", "practitioner_add", "practitioner_remove",
    "qualification_add", "qualification_expiry_warn", "qualification_remove", "staff_remove", "staff_role_set",
]
