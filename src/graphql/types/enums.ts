import { builder } from '../builder.ts';
import { CONFIG_IMPORT_MODES } from '../../admin/config-transfer.ts';
import { KEY_IMPORT_FORMATS } from '../../admin/key-import-parse.ts';
import { KEY_ORDERS } from '../../admin/key-query.ts';
import { ACTORS, AUTH_TYPES, BODY_LOGGING_MODES, DISABLE_MODES, KEY_STATUSES, KEY_STRATEGIES, RULE_ACTIONS, RULE_SCOPES } from '../../state/types.ts';

export const KeyStatusEnum = builder.enumType('KeyStatus', { values: KEY_STATUSES });
export const KeyStrategyEnum = builder.enumType('KeyStrategy', { values: KEY_STRATEGIES });
export const AuthTypeEnum = builder.enumType('AuthType', { values: AUTH_TYPES });
export const BodyLoggingEnum = builder.enumType('BodyLogging', { values: BODY_LOGGING_MODES });
export const RuleActionEnum = builder.enumType('RuleAction', { values: RULE_ACTIONS });
export const RuleScopeEnum = builder.enumType('RuleScope', { values: RULE_SCOPES });
export const DisableModeEnum = builder.enumType('DisableMode', { values: DISABLE_MODES });
export const ActorEnum = builder.enumType('Actor', { values: ACTORS });
export const KeyOrderEnum = builder.enumType('KeyOrder', { values: KEY_ORDERS });
export const KeyImportFormatEnum = builder.enumType('KeyImportFormat', {
  values: KEY_IMPORT_FORMATS,
  description: 'LINES: one key per line. CSV: value,name,weight,quota (header optional). JSON: an array of keys or of { value, name, weight, quota }.',
});
export const ConfigImportModeEnum = builder.enumType('ConfigImportMode', {
  values: CONFIG_IMPORT_MODES,
  description: 'MERGE creates or updates what the document names; REPLACE also deletes what it does not name.',
});
