"""The resource types the facade serves, by FHIR name.

To add one: write a `ResourceType`
subclass (see `resources.py` and `directory.py`) in a module of this package, and
list it here. Routes, authentication, scopes, paging, Bundles, errors and the
CapabilityStatement follow.
"""

from .appointments import AppointmentResource
from .directory import PractitionerResource, ScheduleResource, SlotResource
from .resources import ResourceType

RESOURCE_TYPES: list[type[ResourceType]] = [
    PractitionerResource,
    ScheduleResource,
    SlotResource,
    AppointmentResource,
]


def get_resource_type(name: str) -> ResourceType | None:
    for resource_type in RESOURCE_TYPES:
        if resource_type.name == name:
            return resource_type()
    return None
