"""A read-only FHIR R4 facade over the directory and its schedules, at /fhir/r4/.

Partners authenticate with the same OAuth2 client-credentials tokens as the REST
API (scope `specialists:read` for the directory). Searches answer `searchset`
Bundles, errors OperationOutcomes, always as `application/fhir+json`; the
CapabilityStatement at /fhir/r4/metadata lists what is supported.
"""
