"""A read-only FHIR R4 facade over the directory, its schedules and the
appointments partners may see, at /fhir/r4/.

Partners authenticate with the same OAuth2 client-credentials tokens as the REST
API (scope `specialists:read` for the directory, `appointments:read` for
appointments). Searches answer `searchset`
Bundles, errors OperationOutcomes, always as `application/fhir+json`; the
CapabilityStatement at /fhir/r4/metadata lists what is supported.
"""
