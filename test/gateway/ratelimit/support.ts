// GraphQL operations for the rate-limit suites.
import { graphql } from '../../generated/index.ts';

export const CreateRateLimit = graphql(`
  mutation RlCreate($input: CreateRateLimitInput!) { createRateLimit(input: $input) { id scope targetId requests perSeconds concurrent tokensPerMinute createdAt } }
`);
export const UpdateRateLimit = graphql(`
  mutation RlUpdate($id: ID!, $input: UpdateRateLimitInput!) { updateRateLimit(id: $id, input: $input) { id requests perSeconds concurrent tokensPerMinute } }
`);
export const DeleteRateLimit = graphql(`mutation RlDelete($id: ID!) { deleteRateLimit(id: $id) }`);
export const ListRateLimits = graphql(`
  query RlList($scope: RateLimitScope, $targetId: ID) { rateLimits(scope: $scope, targetId: $targetId) { id scope targetId requests perSeconds concurrent tokensPerMinute } }
`);
export const KeyProviderLimits = graphql(`
  query RlKeyProviderLimits($id: ID!) { key(id: $id) { id status providerLimits { remainingRequests remainingTokens resetsAt } } }
`);
