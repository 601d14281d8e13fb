// Domain errors. The admin API turns them into GraphQL errors with
// extensions.code and extensions.field in one place (graphql/errors.ts);
// anything else is masked.

export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

/** Bad input; `field` names the input path at fault, e.g. `input.baseUrl`. */
export class UserInputError extends DomainError {
  readonly code = 'BAD_USER_INPUT';
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
}
