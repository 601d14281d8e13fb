import { builder } from '../builder.ts';
import { ACTORS, AUTH_TYPES, BODY_LOGGING_MODES, DISABLE_MODES, KEY_STATUSES, KEY_STRATEGIES, RULE_ACTIONS, RULE_SCOPES } from '../../state/types.ts';

export const KeyStatusEnum = builder.enumType('KeyStatus', { values: KEY_STATUSES });
export const KeyStrategyEnum = builder.enumType('KeyStrategy', { values: KEY_STRATEGIES });
export const AuthTypeEnum = builder.enumType('AuthType', { values: AUTH_TYPES });
export const BodyLoggingEnum = builder.enumType('BodyLogging', { values: BODY_LOGGING_MODES });
export const RuleActionEnum = builder.enumType('RuleAction', { values: RULE_ACTIONS });
export const RuleScopeEnum = builder.enumType('RuleScope', { values: RULE_SCOPES });
export const DisableModeEnum = builder.enumType('DisableMode', { values: DISABLE_MODES });
export const ActorEnum = builder.enumType('Actor', { values: ACTORS });
