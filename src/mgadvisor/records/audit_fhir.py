"""One audit record as a FHIR R4B AuditEvent (the export format of the NEN 7513 log).

NEN 7513 field -> AuditEvent: event code -> `type` (DICOM) and `subtype` (our code), action ->
`action`, time -> `recorded`, outcome -> `outcome` (0/4/8/12), user id and role -> `agent.who`
and `agent.role`, authorisation protocol -> `agent.policy`, access point -> `agent.network`
(type 2 = IP address), source -> `source.observer`, client and object -> `entity`. The chain
(seq, prev_hash, hash) and nature and checks travel as extensions.
"""

from __future__ import annotations

from typing import Any

from mgadvisor.records.models import AuditEvent, AuditRow

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
NS = "urn:mgadvisor:audit"  # our own code systems and extensions
FHIR_OUTCOME = {"success": "0", "denied": "4", "failure": "4", "error": "8"}
PURPOSE = {"care-relationship": "TREAT", "break-glass": "ETREAT"}
LOGIN = ("110122", "Login")
LOGOUT = ("110123", "Logout")


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def event_type(code: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The DICOM type of an event code, and the subtypes (a DICOM one where it exists, and
    always our own event code)."""
    ours = [_coding(f"{NS}:event-code", code)]
    if code.startswith("auth."):
        sub = LOGOUT if code == "auth.logout" else LOGIN
        dicom = [_coding(DCM, *sub)] if code.startswith(("auth.login", "auth.logout")) else []
        return _coding(DCM, "110114", "User Authentication"), dicom + ours
    if code.endswith(".export"):
        return _coding(DCM, "110106", "Export"), ours
    if code.startswith("audit."):
        return _coding(DCM, "110101", "Audit Log Used"), ours
    if code.startswith(("client.", "visit.", "break_glass")):
        return _coding(DCM, "110110", "Patient Record"), ours
    if code.startswith("user."):
        return _coding(DCM, "110137", "User Security Attributes Changed"), ours
    return _coding(DCM, "110100", "Application Activity"), ours


def _agent(event: AuditEvent | AuditRow) -> dict[str, Any]:
    system = event.user_id is None and event.authorisation_protocol == "system"
    agent: dict[str, Any] = {"requestor": not system}
    if event.user_id is not None:
        agent["who"] = {"identifier": {"system": f"{NS}:user", "value": str(event.user_id)}}
    else:
        anonymous = "CDS Hooks client" if event.authorisation_protocol == "cds-client" else None
        agent["who"] = {"display": event.source_id if system else anonymous or "unknown user"}
    if event.user_role:
        agent["role"] = [{"coding": [_coding(f"{NS}:role", event.user_role)]}]
    if event.authorisation_protocol:
        agent["policy"] = [f"{NS}:authorisation-protocol:{event.authorisation_protocol}"]
    if event.access_point:
        agent["network"] = {"address": event.access_point, "type": "2"}
    return agent


def _entities(event: AuditEvent | AuditRow) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if event.client_id is not None:
        found.append(
            {
                "what": {"identifier": {"system": f"{NS}:client", "value": str(event.client_id)}},
                "type": _coding(ENTITY_TYPE, "1", "Person"),
                "role": _coding(OBJECT_ROLE, "1", "Patient"),
            }
        )
    if event.object_type:
        entity: dict[str, Any] = {
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "name": event.object_type,
        }
        if event.object_id:
            entity["what"] = {
                "identifier": {"system": f"{NS}:{event.object_type}", "value": event.object_id}
            }
        if event.details:
            entity["detail"] = [{"type": "details", "valueString": event.details}]
        found.append(entity)
    return found


def _extensions(event: AuditEvent | AuditRow) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if event.seq is not None:
        found.append({"url": f"{NS}:seq", "valueString": str(event.seq)})
    for name in ("prev_hash", "hash", "event_nature", "checks"):
        value = getattr(event, name)
        if value:
            found.append({"url": f"{NS}:{name}", "valueString": value})
    return found


def to_fhir_audit_event(event: AuditEvent | AuditRow) -> dict[str, Any]:
    """`event` as a FHIR R4B AuditEvent resource (a JSON-ready dict)."""
    kind, subtypes = event_type(event.event_code)
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(event.id),
        "type": kind,
        "subtype": subtypes,
        "action": event.action,
        "recorded": event.occurred_at.isoformat(timespec="microseconds"),
        "outcome": FHIR_OUTCOME.get(event.outcome, "8"),
        "agent": [_agent(event)],
        "source": {
            "observer": {"display": event.source_id},
            "type": [_coding(SOURCE_TYPE, "4", "Application Server")],
        },
    }
    if event.outcome != "success":
        resource["outcomeDesc"] = event.outcome
    purpose = PURPOSE.get(event.authorisation_protocol or "")
    if purpose:
        resource["purposeOfEvent"] = [{"coding": [_coding(ACT_REASON, purpose)]}]
    entities = _entities(event)
    if entities:
        resource["entity"] = entities
    extensions = _extensions(event)
    if extensions:
        resource["extension"] = extensions
    return resource
