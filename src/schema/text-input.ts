import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { GraphQLError, type GraphQLFieldResolver } from 'graphql';
import { ValidationError } from '../services/errors.js';
import { findTextProblem } from '../services/text.js';

/**
 * Checks every argument of every field for text the service refuses (see services/text.ts). A field whose result
 * union has ValidationError answers with that member; any other field answers BAD_USER_INPUT naming the argument.
 */
export class TextInputPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (Object.keys(fieldConfig.args).length === 0) return resolver;
    const errorTypes = (fieldConfig.pothosOptions as { errors?: { types?: unknown[] } }).errors?.types ?? [];
    const typed = errorTypes.includes(ValidationError);
    return (parent, args, context, info) => {
      const problem = findTextProblem(args, '');
      if (!problem) return resolver(parent, args, context, info);
      if (typed) throw ValidationError.forField(problem.path, problem.message);
      throw new GraphQLError(`Argument "${problem.path}" of ${info.fieldName} ${problem.message}`, {
        extensions: { code: 'BAD_USER_INPUT', argument: problem.path },
      });
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      textInput: TextInputPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('textInput', TextInputPlugin);

export default 'textInput' as const;
