// What every view may read: the signed-in user, the company (for managers), the socket,
// and the role ladder.
export const ROLES = ["attendant", "supervisor", "manager", "owner"];

export const state = { me: null, company: null, socket: null, departments: null };

export const atLeast = (role, user = state.me) => ROLES.indexOf(user?.role) >= ROLES.indexOf(role);

/// Roles the signed-in user may give (never above their own).
export const grantable = () => ROLES.filter((role) => atLeast(role));
