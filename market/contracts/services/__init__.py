"""Writes for contracts, delivery and acceptance, extensions, overruns and evaluations, one module
per entity: contracts.py (the contract's pipeline, drafting, signing, the runner-up, closing,
cancelling, overruns), deliveries.py, extensions.py and evaluations.py.

Four state machines, each with one status enum (market.contracts.models), one transition table and
one guarded setter that the caller invokes inside a transaction holding the row lock; the setter
refuses an illegal move with ValidationError(code="illegal_transition") and writes the audit event.
Locks are always taken in the same order — request, contract, then its rows — so two writers never
wait on each other crosswise. Every deadline check uses one server timestamp taken under the lock.

What other domains must hear of (a cancellation, an acceptance) is sent as a signal and what may
keep a contract from closing is asked of the close guards: market.contracts.events.

``from market.contracts import services`` gives every public name below.
"""

from .contracts import (AGENCY, CONTRACT_AUDIT_FIELDS, CONTRACT_TRANSITIONS, OWNER, REQUEST_FOLLOWS, RULE_OVERRUN,
                        RULE_REFUSE_SIGN, _term_end, confirm_deadline_from, contract_cancel, contract_close,
                        contract_confirm, contract_draft, contract_lock, contract_new_round, contract_refuse,
                        contract_take_runner_up, contract_terms_set, contract_transition, contracts_draft_awarded,
                        contracts_expire_due, contracts_record_overruns, market_setting, overrun_breach_at,
                        runner_up_candidates)
from .deliveries import (DELIVERY_TRANSITIONS, MAX_FILES_PER_DELIVERY, deliverable_accept, deliverable_return,
                         deliverable_upload, deliveries_deem_accepted, delivery_transition, review_deadline_from)
from .evaluations import (EVALUATION_TRANSITIONS, evaluation_hide, evaluation_show, evaluation_submit,
                          evaluation_transition)
from .extensions import (EXTENSION_TRANSITIONS, MAX_EXTENSION_DAYS, extension_decide, extension_request,
                         extension_transition)

__all__ = [
    "AGENCY", "CONTRACT_AUDIT_FIELDS", "CONTRACT_TRANSITIONS", "OWNER", "REQUEST_FOLLOWS", "RULE_OVERRUN",
    "RULE_REFUSE_SIGN", "_term_end", "confirm_deadline_from", "contract_cancel", "contract_close", "contract_confirm",
    "contract_draft", "contract_lock", "contract_new_round", "contract_refuse", "contract_take_runner_up",
    "contract_terms_set", "contract_transition", "contracts_draft_awarded", "contracts_expire_due",
    "contracts_record_overruns", "market_setting", "overrun_breach_at", "runner_up_candidates",
    "DELIVERY_TRANSITIONS", "MAX_FILES_PER_DELIVERY", "deliverable_accept", "deliverable_return", "deliverable_upload",
    "deliveries_deem_accepted", "delivery_transition", "review_deadline_from",
    "EVALUATION_TRANSITIONS", "evaluation_hide", "evaluation_show", "evaluation_submit", "evaluation_transition",
    "EXTENSION_TRANSITIONS", "MAX_EXTENSION_DAYS", "extension_decide", "extension_request", "extension_transition",
]
