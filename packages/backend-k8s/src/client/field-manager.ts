/** The field manager sdx applies with. Kept apart from the client so importing it does not load @kubernetes/client-node. */
export const FIELD_MANAGER = "sdx";
