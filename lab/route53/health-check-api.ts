/**
 * The health-check operations of the API: GetHealthCheck, UpdateHealthCheck (with HealthCheckVersion's optimistic
 * concurrency) and GetHealthCheckStatus (one observation per checker region). GetHealthCheckStatus refuses a
 * CALCULATED check, which has no checkers: the API reference says its status can only be seen in the Route 53 or
 * CloudWatch console. The refusal's code and wording are the stand-in's own.
 */
import { CHECKER_REGIONS } from './health-checks.js';
import type { HealthChecks, HealthCheckState } from './health-checks.js';
import { child, childrenNamed, parseRequestXml, textOf } from './parse-request-xml.js';
import { ApiError } from './route53-errors.js';
import { el, xmlDocument } from './write-response-xml.js';

const calculatedConfigXml = (check: HealthCheckState) =>
  el('HealthCheckConfig', [
    el('Type', check.type),
    el('Inverted', check.inverted),
    el('Disabled', check.disabled),
    el('HealthThreshold', check.healthThreshold),
    el(
      'ChildHealthChecks',
      check.childHealthChecks.map((id) => el('ChildHealthCheck', id)),
    ),
  ]);

const healthCheckXml = (check: HealthCheckState) =>
  check.type === 'CALCULATED'
    ? el('HealthCheck', [
        el('Id', check.id),
        el('CallerReference', check.callerReference),
        calculatedConfigXml(check),
        el('HealthCheckVersion', check.version),
      ])
    : endpointCheckXml(check);

const endpointCheckXml = (check: HealthCheckState) =>
  el('HealthCheck', [
    el('Id', check.id),
    el('CallerReference', check.callerReference),
    el('HealthCheckConfig', [
      el('IPAddress', check.ipAddress),
      el('Port', check.port),
      el('Type', check.type),
      check.type === 'TCP' ? undefined : el('ResourcePath', check.resourcePath),
      el('FullyQualifiedDomainName', check.fqdn),
      el('RequestInterval', check.requestInterval),
      el('FailureThreshold', check.failureThreshold),
      el('MeasureLatency', false),
      el('Inverted', check.inverted),
      el('Disabled', check.disabled),
      check.type === 'HTTPS' ? el('EnableSNI', true) : undefined,
    ]),
    el('HealthCheckVersion', check.version),
  ]);

export const getHealthCheck = (check: HealthCheckState): string =>
  xmlDocument('GetHealthCheckResponse', [healthCheckXml(check)]);

export function updateHealthCheck(checks: HealthChecks, check: HealthCheckState, body: string): string {
  const root = parseRequestXml(body, 'UpdateHealthCheckRequest');
  const version = textOf(root, 'HealthCheckVersion');
  if (version !== undefined && Number(version) !== check.version) {
    throw new ApiError(
      409,
      'HealthCheckVersionMismatch',
      "The value of HealthCheckVersion in the request doesn't match the value of HealthCheckVersion in the health check.",
    );
  }
  const bool = (name: string) => {
    const text = textOf(root, name);
    return text === undefined ? undefined : text === 'true';
  };
  const inverted = bool('Inverted');
  if (inverted !== undefined) checks.setInverted(check, inverted);
  const disabled = bool('Disabled');
  if (disabled !== undefined) check.disabled = disabled;
  const port = textOf(root, 'Port');
  if (port !== undefined) check.port = Number(port);
  const path = textOf(root, 'ResourcePath');
  if (path !== undefined) check.resourcePath = path;
  const fqdn = textOf(root, 'FullyQualifiedDomainName');
  if (fqdn !== undefined) check.fqdn = fqdn;
  const ip = textOf(root, 'IPAddress');
  if (ip !== undefined) check.ipAddress = ip;
  const threshold = textOf(root, 'FailureThreshold');
  if (threshold !== undefined) check.failureThreshold = Number(threshold);
  const healthThreshold = textOf(root, 'HealthThreshold');
  if (healthThreshold !== undefined) check.healthThreshold = Number(healthThreshold);
  const children = child(root, 'ChildHealthChecks');
  if (children !== undefined) {
    check.childHealthChecks = childrenNamed(children, 'ChildHealthCheck').map((id) =>
      typeof id === 'string' ? id.trim() : typeof id['#text'] === 'string' ? id['#text'].trim() : '',
    );
  }
  check.version += 1;
  return xmlDocument('UpdateHealthCheckResponse', [healthCheckXml(check)]);
}

export function getHealthCheckStatus(checks: HealthChecks, check: HealthCheckState, time: number): string {
  if (check.type === 'CALCULATED') {
    throw new ApiError(
      400,
      'InvalidInput',
      `Health check ${check.id} is a calculated health check; its status is not available from GetHealthCheckStatus.`,
    );
  }
  const checkedAt = new Date(time).toISOString();
  const inverted = checks.invertedAt(check, time);
  const observations = checks.checkerStates(check, time).map((state, index) => {
    const detail = state.raw
      ? 'HTTP Status Code 200, OK'
      : 'Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall.';
    const status = `${state.effective ? 'Success' : 'Failure'}: ${detail}${inverted ? ' The health check is inverted.' : ''}`;
    return el('HealthCheckObservation', [
      el('Region', CHECKER_REGIONS[index]),
      el('IPAddress', `15.177.${index * 2}.${10 + index}`),
      el('StatusReport', [el('Status', status), el('CheckedTime', checkedAt)]),
    ]);
  });
  return xmlDocument('GetHealthCheckStatusResponse', [el('HealthCheckObservations', observations)]);
}
